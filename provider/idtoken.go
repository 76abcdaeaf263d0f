package provider

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"maps"
	"reflect"
	"slices"
)

// standardScopeClaims are the claims each standard scope grants (OpenID
// Connect Core §5.4).
var standardScopeClaims = map[string][]string{
	"profile": {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username", "profile",
		"picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"},
	"email":   {"email", "email_verified"},
	"address": {"address"},
	"phone":   {"phone_number", "phone_number_verified"},
}

// idTokenAlg is the JWS algorithm of client's ID tokens: its registered
// one, else RS256 (OpenID Connect Core §15.1), else the first key family.
func (p *Provider) idTokenAlg(client *Client) string {
	if client.IDTokenSignedResponseAlg != "" {
		return client.IDTokenSignedResponseAlg
	}
	if slices.Contains(p.cfg.KeyAlgorithms, AlgRS256) {
		return AlgRS256
	}
	return p.cfg.KeyAlgorithms[0]
}

// idToken signs an ID token (OpenID Connect Core §2) of grant g for client,
// issued with the access token accessToken. At a refresh it carries no
// nonce (§12.2: the nonce belongs to the authentication request).
func (p *Provider) idToken(ctx context.Context, client *Client, g *userGrant, scopes []string, accessToken string, refresh bool) (string, error) {
	now := p.now()
	alg := p.idTokenAlg(client)
	claims := map[string]any{}
	if client.IDTokenIncludeClaims {
		user, err := p.userClaims(ctx, g.subject, scopes)
		if err != nil {
			return "", err
		}
		maps.Copy(claims, user)
	}
	registered := map[string]any{
		"iss":       p.issuer,
		"sub":       p.subjectFor(client, g.subject),
		"aud":       client.ID,
		"exp":       now.Add(p.cfg.IDTokenLifetime).Unix(),
		"iat":       now.Unix(),
		"auth_time": g.authTime.Unix(),
		"azp":       client.ID,
		"at_hash":   halfHash(alg, accessToken),
	}
	if g.nonce != "" && !refresh {
		registered["nonce"] = g.nonce
	}
	if g.acr != "" {
		registered["acr"] = g.acr
	}
	if len(g.amr) > 0 {
		registered["amr"] = slices.Clone(g.amr)
	}
	maps.Copy(claims, registered)
	if p.cfg.IDTokenClaims != nil {
		req := &IDTokenRequest{Client: client, Subject: g.subject, Scopes: slices.Clone(scopes), Refresh: refresh}
		if err := p.cfg.IDTokenClaims(ctx, req, claims); err != nil {
			return "", fmt.Errorf("Config.IDTokenClaims: %w", err)
		}
		for _, name := range registeredIDTokenClaims {
			want, set := registered[name]
			got, has := claims[name]
			if set != has || (set && !reflect.DeepEqual(want, got)) {
				return "", fmt.Errorf("Config.IDTokenClaims changed the registered claim %q", name)
			}
		}
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return p.sign(ctx, alg, "JWT", payload)
}

// halfHash is the left half of the hash of value that alg's signature
// uses, base64url-encoded: at_hash (OpenID Connect Core §3.1.3.6). EdDSA
// with Ed25519 hashes with SHA-512, as go-oidc and node oidc-provider do.
func halfHash(alg, value string) string {
	var h hash.Hash
	if alg == AlgEdDSA {
		h = sha512.New()
	} else {
		h = sha256.New()
	}
	h.Write([]byte(value))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// subjectFor returns the "sub" client sees for the user subject: subject
// itself, or for a pairwise client (OpenID Connect Core §8.1) a digest of
// the client's sector, the subject and the store's secret salt, the same
// for every client of the sector and for no other.
func (p *Provider) subjectFor(client *Client, subject string) string {
	if !client.PairwiseSubject {
		return subject
	}
	sector, err := sectorIdentifier(client)
	if err != nil {
		sector = client.ID // registration refuses such a client; never share a sector by mistake
	}
	h := sha256.New()
	for _, part := range []string{sector, subject} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(p.pairwiseSalt)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// userClaims returns the claims of the user subject that scopes grant,
// from Config.Claims, keeping only those the scopes name (standard and
// Config.ScopeClaims), never "sub".
func (p *Provider) userClaims(ctx context.Context, subject string, scopes []string) (map[string]any, error) {
	out := map[string]any{}
	if p.cfg.Claims == nil {
		return out, nil
	}
	all, err := p.cfg.Claims(ctx, subject, slices.Clone(scopes))
	if err != nil {
		return nil, fmt.Errorf("Config.Claims: %w", err)
	}
	for _, s := range scopes {
		names := standardScopeClaims[s]
		if names == nil {
			names = p.cfg.ScopeClaims[s]
		}
		for _, n := range names {
			if v, ok := all[n]; ok && n != "sub" {
				out[n] = v
			}
		}
	}
	return out, nil
}
