package revocationfeed

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/compact"
	"github.com/tokengate/tokengate/internal/jwks"
	"github.com/tokengate/tokengate/internal/strictjson"
	"github.com/tokengate/tokengate/secevent"
)

// algorithms are the JWS algorithms a SET may be signed with: the
// asymmetric ones; the key that verifies must fit it too.
var algorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// maxSETBytes bounds a SET before it is parsed.
const maxSETBytes = 16 << 10

// refusal is why a SET was refused, in the words of RFC 8936 setErrs.
type refusal struct {
	code string // secevent.ErrCode*
	msg  string
	err  error
}

func (r *refusal) Error() string {
	if r.err != nil {
		return "revocationfeed: SET refused: " + r.msg + ": " + r.err.Error()
	}
	return "revocationfeed: SET refused: " + r.msg
}

func (r *refusal) Unwrap() error { return r.err }

func refuse(code, msg string, err error) error { return &refusal{code: code, msg: msg, err: err} }

// errKeysUnavailable: the issuer's keys could not be had; the SET is to be
// tried again later, not refused.
var errKeysUnavailable = errors.New("revocationfeed: issuer keys unavailable")

// revocation is what a verified SET says.
type revocation struct {
	jti      string // the SET's
	tokenSum [sha256.Size]byte
	tokenJTI string
	tokenExp time.Time
	reason   string
}

// verify checks a SET as docs/revocation-events.md §5 says. Its error is a
// *refusal, or matches errKeysUnavailable.
func (s *Subscriber) verify(ctx context.Context, set string) (*revocation, error) {
	if len(set) > maxSETBytes {
		return nil, refuse(secevent.ErrCodeInvalidRequest, "too long", nil)
	}
	parts, err := compact.Parts(set)
	if err != nil || len(parts) != 3 {
		return nil, refuse(secevent.ErrCodeInvalidRequest, "not a compact JWS", err)
	}
	h, err := compact.ParseHeader(parts[0])
	if err != nil {
		return nil, refuse(secevent.ErrCodeInvalidRequest, "header", err)
	}
	switch {
	case h.Crit:
		return nil, refuse(secevent.ErrCodeInvalidRequest, `header has "crit"`, nil)
	case !compact.IsType(h.Typ, secevent.Type):
		return nil, refuse(secevent.ErrCodeInvalidRequest, fmt.Sprintf("typ %.40q is not %s", h.Typ, secevent.Type), nil)
	case !slices.Contains(algorithms, jose.SignatureAlgorithm(h.Alg)):
		return nil, refuse(secevent.ErrCodeInvalidKey, fmt.Sprintf("alg %.20q is not an asymmetric JWS algorithm", h.Alg), nil)
	}
	jws, err := jose.ParseSignedCompact(set, algorithms)
	if err != nil {
		return nil, refuse(secevent.ErrCodeInvalidRequest, "JWS", err)
	}
	if len(jws.Signatures) != 1 || jws.Signatures[0].Header.Algorithm != h.Alg || jws.Signatures[0].Header.KeyID != h.Kid {
		return nil, refuse(secevent.ErrCodeInvalidRequest, "ambiguous header", nil)
	}
	var candidates []jwkset.JWK
	if h.Kid != "" {
		k, err := s.keys.Key(ctx, h.Kid)
		switch {
		case errors.Is(err, jwks.ErrKeyNotFound):
			return nil, refuse(secevent.ErrCodeInvalidKey, fmt.Sprintf("no key %.80q in the issuer's JWK Set", h.Kid), nil)
		case err != nil:
			return nil, fmt.Errorf("%w: %w", errKeysUnavailable, err)
		}
		candidates = []jwkset.JWK{k}
	} else if candidates, err = s.keys.Keys(ctx); err != nil {
		return nil, fmt.Errorf("%w: %w", errKeysUnavailable, err)
	}
	payload, err := jwks.Verify(jws, h.Alg, candidates)
	if err != nil {
		return nil, refuse(secevent.ErrCodeInvalidKey, "signature", err)
	}
	return s.claims(payload)
}

// claims checks the claims of a verified SET.
func (s *Subscriber) claims(payload []byte) (*revocation, error) {
	var present map[string]json.RawMessage
	if err := strictjson.Unmarshal(payload, &present); err != nil {
		return nil, refuse(secevent.ErrCodeInvalidRequest, "claims", err)
	}
	for _, name := range []string{"exp", "sub", "nbf"} {
		if _, ok := present[name]; ok {
			return nil, refuse(secevent.ErrCodeInvalidRequest, fmt.Sprintf("%q is present; a SET has none", name), nil)
		}
	}
	var c secevent.Claims
	if err := strictjson.Unmarshal(payload, &c); err != nil {
		return nil, refuse(secevent.ErrCodeInvalidRequest, "claims", err)
	}
	now := s.cfg.Now()
	switch {
	case c.Issuer != s.cfg.Issuer:
		return nil, refuse(secevent.ErrCodeInvalidIssuer, fmt.Sprintf("iss %.100q", c.Issuer), nil)
	case !slices.Contains(c.Audience, s.cfg.ClientID):
		return nil, refuse(secevent.ErrCodeInvalidAudience, "aud does not name this client", nil)
	case c.ID == "" || len(c.ID) > 256:
		return nil, refuse(secevent.ErrCodeInvalidRequest, "jti missing or too long", nil)
	case c.IssuedAt == 0:
		return nil, refuse(secevent.ErrCodeInvalidRequest, "iat missing", nil)
	case time.Unix(c.IssuedAt, 0).After(now.Add(s.cfg.ClockSkew)):
		return nil, refuse(secevent.ErrCodeInvalidRequest, "iat in the future", nil)
	case time.Unix(c.IssuedAt, 0).Before(now.Add(-secevent.MaxAge)):
		return nil, refuse(secevent.ErrCodeInvalidRequest, "older than 24 hours", nil)
	case len(c.Events) != 1 || c.Events[secevent.TokenRevoked] == nil:
		return nil, refuse(secevent.ErrCodeInvalidRequest, "events is not exactly the token-revoked event", nil)
	}
	var ev secevent.TokenRevokedEvent
	if err := strictjson.Unmarshal(c.Events[secevent.TokenRevoked], &ev); err != nil {
		return nil, refuse(secevent.ErrCodeInvalidRequest, "event", err)
	}
	sum, err := base64.RawURLEncoding.DecodeString(ev.TokenSHA256)
	if err != nil || len(sum) != sha256.Size {
		return nil, refuse(secevent.ErrCodeInvalidRequest, "token_sha256 is not a base64url SHA-256", nil)
	}
	if ev.TokenExp == 0 {
		return nil, refuse(secevent.ErrCodeInvalidRequest, "token_exp missing", nil)
	}
	return &revocation{jti: c.ID, tokenSum: [sha256.Size]byte(sum), tokenJTI: ev.TokenJTI, tokenExp: time.Unix(ev.TokenExp, 0), reason: ev.Reason}, nil
}
