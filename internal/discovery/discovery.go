package discovery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tokengate/tokengate/internal/oauthhttp"
	"github.com/tokengate/tokengate/internal/strictjson"
)

// Metadata holds the members of an authorization server's metadata that
// tokengate uses (RFC 8414 §2).
// Absent members are the zero value.
type Metadata struct {
	// Issuer is the "issuer" member; [Fetch] checks it.
	Issuer string `json:"issuer"`
	// TokenEndpoint is the "token_endpoint" member (RFC 6749 §3.2).
	TokenEndpoint string `json:"token_endpoint,omitempty"`
	// IntrospectionEndpoint is the "introspection_endpoint" member (RFC 7662).
	IntrospectionEndpoint string `json:"introspection_endpoint,omitempty"`
	// RevocationEndpoint is the "revocation_endpoint" member (RFC 7009).
	RevocationEndpoint string `json:"revocation_endpoint,omitempty"`
	// JWKSURI is the "jwks_uri" member: the AS's signing keys.
	JWKSURI string `json:"jwks_uri,omitempty"`
	// IntrospectionEndpointAuthMethodsSupported lists the client
	// authentication methods the introspection endpoint accepts.
	IntrospectionEndpointAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	// RevocationEventsEndpoint is the "revocation_events_endpoint" member:
	// where resource servers poll for revocation events
	// (docs/revocation-events.md).
	RevocationEventsEndpoint string `json:"revocation_events_endpoint,omitempty"`
	// URL is where the document was read.
	URL string `json:"-"`
}

// ErrNotFound means neither well-known document exists at the issuer.
var ErrNotFound = errors.New("discovery: no metadata document found")

// DefaultMaxBytes caps a metadata document.
const DefaultMaxBytes = 1 << 20

// Fetch reads the metadata of issuer, trying the RFC 8414 location (with the
// issuer's path appended after the well-known segment, §3.1) and then the
// OpenID Connect location. The document's issuer must be identical to
// issuer, trailing slash included (RFC 8414 §3.3, OpenID Connect Discovery
// §4.3); a document naming another issuer fails at once. Any other failure
// at one location (an error status, a body that is not a JSON object, a
// network error) moves on to the next; if none succeeds the error names
// every URL tried and matches ErrNotFound when all of them answered 404.
// A document with a member name twice, or spelt in another case than RFC
// 8414 spells it, fails at once.
// Reads are capped at maxBytes (DefaultMaxBytes if zero).
func Fetch(ctx context.Context, client *http.Client, issuer string, maxBytes int64) (*Metadata, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if client == nil {
		client = http.DefaultClient
	}
	var errs []string
	all404 := true
	for _, u := range candidateURLs(issuer) {
		md, status, err := fetchOne(ctx, client, u, maxBytes)
		if errors.Is(err, strictjson.ErrDuplicateName) || errors.Is(err, strictjson.ErrFoldedName) {
			// A metadata document that says two things is not a page of
			// some other kind to step over: trust no location of it.
			return nil, err
		}
		if err == nil {
			if md.Issuer != issuer {
				return nil, fmt.Errorf("discovery: %s names issuer %q, want %q", u, md.Issuer, issuer)
			}
			md.URL = u
			return md, nil
		}
		all404 = all404 && status == http.StatusNotFound
		errs = append(errs, err.Error())
		if ctx.Err() != nil {
			break
		}
	}
	if all404 {
		return nil, fmt.Errorf("%w for issuer %q (%s)", ErrNotFound, issuer, strings.Join(errs, "; "))
	}
	return nil, fmt.Errorf("discovery: no usable metadata for issuer %q (%s)", issuer, strings.Join(errs, "; "))
}

func candidateURLs(issuer string) []string {
	trimmed := strings.TrimSuffix(issuer, "/")
	var out []string
	// RFC 8414 §3.1: insert the well-known segment between host and path.
	if i := strings.Index(trimmed, "://"); i >= 0 {
		rest := trimmed[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			out = append(out, trimmed[:i+3]+rest[:j]+"/.well-known/oauth-authorization-server"+rest[j:])
		}
	}
	out = append(out,
		trimmed+"/.well-known/oauth-authorization-server",
		trimmed+"/.well-known/openid-configuration",
	)
	return out
}

func fetchOne(ctx context.Context, client *http.Client, u string, maxBytes int64) (*Metadata, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("discovery: %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("discovery: %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, fmt.Errorf("discovery: %s answered %d", u, resp.StatusCode)
	}
	body, err := oauthhttp.ReadBody(resp.Body, maxBytes)
	if errors.Is(err, oauthhttp.ErrTooLarge) {
		return nil, resp.StatusCode, fmt.Errorf("discovery: %s: document larger than %d bytes", u, maxBytes)
	}
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("discovery: %s: %w", u, err)
	}
	// Exact member names, none twice: a second "INTROSPECTION_ENDPOINT" or
	// "jwks_uri" must not override the first (RFC 8414 §2 names are case
	// sensitive JSON member names).
	var md Metadata
	if err := strictjson.Unmarshal(body, &md); err != nil {
		return nil, resp.StatusCode, fmt.Errorf("discovery: %s: not a metadata document: %w", u, err)
	}
	return &md, resp.StatusCode, nil
}
