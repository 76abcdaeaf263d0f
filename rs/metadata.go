package rs

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/internal/oauthhttp"
)

// WellKnownMetadataPath is the RFC 9728 §3 well-known path segment.
const WellKnownMetadataPath = "/.well-known/oauth-protected-resource"

// ResourceMetadata describes this protected resource for RFC 9728 metadata.
// bearer_methods_supported is not set here: [Guard.MetadataHandler] derives
// it from the guard's extractors. Every URL in it must be https (plain
// http only on a loopback host, for tests) and carry no user info.
type ResourceMetadata struct {
	// Resource is the resource identifier: an https URL without fragment
	// (http is accepted for loopback hosts, for tests). Required.
	Resource string
	// AuthorizationServers lists the issuer identifiers of the
	// authorization servers that issue tokens for this resource; like
	// RFC 8414 issuers, they have no query and no fragment.
	AuthorizationServers []string
	// ScopesSupported lists the scopes this resource understands; the
	// Scopes method of a scopes.Requirement helps collect them.
	ScopesSupported []string
	// JWKSURI is where this resource publishes its public keys, e.g. the
	// encryption key for RFC 9701 JWT introspection responses. Optional.
	JWKSURI string
	// ResourceName is a human-readable name. Optional.
	ResourceName string
	// ResourceDocumentation is a URL of developer documentation. Optional.
	ResourceDocumentation string
}

// MetadataURL returns where RFC 9728 §3.1 says the metadata of resource
// lives: the well-known path inserted between the host and the path, so
// "https://api.example.com/v1" gives
// "https://api.example.com/.well-known/oauth-protected-resource/v1". Use it
// for [Config.ResourceMetadataURL], and route its path to
// [Guard.MetadataHandler].
func MetadataURL(resource string) (string, error) {
	u, err := parseResource(resource)
	if err != nil {
		return "", err
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	return u.Scheme + "://" + u.Host + WellKnownMetadataPath + path, nil
}

func parseResource(resource string) (*url.URL, error) {
	if err := oauthhttp.CheckResource(resource, false, ""); err != nil {
		return nil, fmt.Errorf("rs: resource identifier: %w", err)
	}
	return url.Parse(resource)
}

// MetadataHandler returns an http.Handler that serves md as an RFC 9728
// protected resource metadata document (GET and HEAD only), with
// bearer_methods_supported derived from the guard: "header" always, then
// the Method of each of [Config.Extractors] (an extractor without one, such
// as a cookie, is not described); with [Config.DPoP]
// dpop_signing_alg_values_supported from the verifier; and with
// [Config.MTLS] tls_client_certificate_bound_access_tokens true. Mount it on the path of
// [MetadataURL](md.Resource), e.g. WellKnownMetadataPath for a resource
// without path.
func (g *Guard) MetadataHandler(md ResourceMetadata) (http.Handler, error) {
	if md.Resource == "" {
		return nil, errors.New("rs: ResourceMetadata.Resource is required")
	}
	if _, err := parseResource(md.Resource); err != nil {
		return nil, err
	}
	for _, s := range md.AuthorizationServers {
		if err := oauthhttp.CheckIssuer(s, false, ""); err != nil {
			return nil, fmt.Errorf("rs: ResourceMetadata.AuthorizationServers: %w", err)
		}
	}
	for _, u := range []string{md.JWKSURI, md.ResourceDocumentation} {
		if u != "" {
			if err := oauthhttp.CheckURL(u, false, ""); err != nil {
				return nil, fmt.Errorf("rs: ResourceMetadata: %w", err)
			}
		}
	}
	var methods []string
	for _, ex := range g.extractors {
		if ex.Method != "" && !slices.Contains(methods, ex.Method) {
			methods = append(methods, ex.Method)
		}
	}
	body, err := json.Marshal(struct {
		Resource              string   `json:"resource"`
		AuthorizationServers  []string `json:"authorization_servers,omitempty"`
		JWKSURI               string   `json:"jwks_uri,omitempty"`
		ScopesSupported       []string `json:"scopes_supported,omitempty"`
		BearerMethods         []string `json:"bearer_methods_supported"`
		DPoPAlgorithms        []string `json:"dpop_signing_alg_values_supported,omitempty"`
		CertificateBound      bool     `json:"tls_client_certificate_bound_access_tokens,omitempty"`
		ResourceName          string   `json:"resource_name,omitempty"`
		ResourceDocumentation string   `json:"resource_documentation,omitempty"`
	}{md.Resource, slices.Clone(md.AuthorizationServers), md.JWKSURI, slices.Clone(md.ScopesSupported), methods, g.dpopAlgorithms(), g.cfg.MTLS, md.ResourceName, md.ResourceDocumentation})
	if err != nil {
		return nil, fmt.Errorf("rs: encoding metadata: %w", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(body)
	}), nil
}

// dpopAlgorithms returns the JWS algorithms accepted in DPoP proofs, or nil
// without [Config.DPoP].
func (g *Guard) dpopAlgorithms() []string {
	if g.cfg.DPoP == nil {
		return nil
	}
	return slices.Clone(g.cfg.DPoP.Algorithms())
}
