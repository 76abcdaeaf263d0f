package jwtaccess

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/MicahParks/jwkset"
	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/compact"
	"github.com/tokengate/tokengate/internal/jwks"
	"github.com/tokengate/tokengate/introspect"
)

// Introspect validates token as an RFC 9068 JWT access token of the
// configured issuer for one of the configured audiences, and returns its
// claims as the verdict an introspection would give: Active, Scope,
// ClientID, Subject, Expiry, IssuedAt, NotBefore, Audience, Issuer, JWTID
// and Confirmation (cnf) filled from the claims of the same names, every
// other claim (auth_time, acr, roles, …) kept as an extra member.
//
// A refused token is an error matching [introspect.ErrInactive] and one of
// [ErrMalformed], [ErrType], [ErrSignature], [ErrClaims] or [ErrRevoked].
// Keys that cannot be fetched, or a kid not in the set while a refresh is
// not allowed yet, are [introspect.ErrUnavailable].
//
// Signatures are verified by github.com/go-jose/go-jose/v4 with a key
// chosen here: never one named by the token itself (jwk, jku, x5u and x5c
// headers are ignored and nothing they name is fetched).
func (v *Validator) Introspect(ctx context.Context, token string) (*introspect.Response, error) {
	if len(token) > v.cfg.MaxTokenBytes {
		return nil, refuse(ErrMalformed, "longer than %d bytes", v.cfg.MaxTokenBytes)
	}
	parts, err := compact.Parts(token)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(parts) == 5 {
		return nil, refuse(ErrMalformed, "an encrypted JWT (JWE); decryption is not supported")
	}
	h, err := compact.ParseHeader(parts[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if h.Crit {
		// RFC 7515 §4.1.11: a header naming an extension the recipient
		// does not understand is invalid, and none is understood here.
		return nil, refuse(ErrMalformed, `header has "crit"; no extension is supported`)
	}
	if !compact.IsType(h.Typ, "at+jwt") {
		return nil, refuse(ErrType, "typ %.40q (RFC 9068 §4)", h.Typ)
	}
	if !slices.Contains(v.algs, jose.SignatureAlgorithm(h.Alg)) {
		return nil, refuse(ErrSignature, "alg %.40q is not in Config.Algorithms", h.Alg)
	}
	jws, err := jose.ParseSignedCompact(token, v.algs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	if len(jws.Signatures) != 1 || jws.Signatures[0].Header.Algorithm != h.Alg || jws.Signatures[0].Header.KeyID != h.Kid {
		return nil, refuse(ErrMalformed, "ambiguous header")
	}
	payload, err := v.verify(ctx, jws, h)
	if err != nil {
		return nil, err
	}
	return v.claims(payload)
}

func (v *Validator) verify(ctx context.Context, jws *jose.JSONWebSignature, h *compact.Header) ([]byte, error) {
	var candidates []jwkset.JWK
	switch {
	case v.pinned != nil && h.Kid != "":
		for _, k := range v.pinned {
			if k.Marshal().KID == h.Kid {
				candidates = append(candidates, k)
			}
		}
		if len(candidates) == 0 {
			return nil, refuse(ErrSignature, "no key with kid %.80q", h.Kid)
		}
	case v.pinned != nil:
		candidates = v.pinned
	case h.Kid != "":
		k, err := v.remote.Key(ctx, h.Kid)
		if errors.Is(err, jwks.ErrKeyNotFound) {
			return nil, fmt.Errorf("%w: %w", ErrSignature, err)
		}
		if err != nil {
			return nil, fmt.Errorf("jwtaccess: %w: %w", introspect.ErrUnavailable, err)
		}
		candidates = []jwkset.JWK{k}
	default:
		all, err := v.remote.Keys(ctx)
		if err != nil {
			return nil, fmt.Errorf("jwtaccess: %w: %w", introspect.ErrUnavailable, err)
		}
		candidates = all
	}
	payload, err := jwks.Verify(jws, h.Alg, candidates)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	return payload, nil
}
