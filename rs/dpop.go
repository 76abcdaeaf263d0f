package rs

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/tokengate/tokengate/dpop"
)

// authenticateDPoP is authenticate for a token sent with the DPoP scheme
// (RFC 9449 §7.1): the token must be DPoP-bound and the request must carry
// a proof by the key it is bound to.
func (g *Guard) authenticateDPoP(pr presented, token string) (*Principal, error) {
	ctx := pr.ctx
	proof, err := pr.proof()
	if err != nil { // before introspection: no proof, no need to ask
		return nil, g.proofError(ctx, token, err)
	}
	p, cnf, err := g.verdict(ctx, token)
	if err != nil {
		return nil, err
	}
	if cnf.jkt == "" {
		return nil, newError(ErrInvalidToken, "the access token is not DPoP-bound", nil).because(reasonSenderConstrained)
	}
	if cnf.x5t != "" { // bound to both: the certificate first, so that a proof is not spent on a request that fails anyway
		if err := g.checkCertificate(pr, token, cnf.x5t); err != nil {
			return nil, err
		}
	}
	method, url := pr.target(g.cfg.RequestURL)
	req := dpop.ProofRequest{Method: method, URL: url, AccessToken: token}
	if err := g.cfg.DPoP.Verify(ctx, proof, req, cnf.jkt); err != nil {
		return nil, g.proofError(ctx, token, err)
	}
	p.DPoPThumbprint = cnf.jkt
	return p, nil
}

// proofError turns a package dpop error into invalid_dpop_proof, with a
// fixed description per check, or into unavailable when the replay cache
// is full.
func (g *Guard) proofError(ctx context.Context, token string, err error) error {
	if errors.Is(err, dpop.ErrReplayCacheFull) {
		if ok, suppressed := g.unavailableLog.Allow(g.cfg.Now()); ok {
			g.cfg.Logger.WarnContext(ctx, "rs: DPoP replay cache full: raise dpop.Config.MaxReplayEntries or shorten IATWindow",
				"token_sha256", tokenHash(token), "suppressed_since_last", suppressed)
		}
		return newError(ErrUnavailable, descUnavailable, err)
	}
	desc := "the DPoP proof is invalid"
	switch {
	case errors.Is(err, dpop.ErrMissingProof):
		desc = "exactly one DPoP proof header is required"
	case errors.Is(err, dpop.ErrRequestMismatch):
		desc = "the DPoP proof is for another request"
	case errors.Is(err, dpop.ErrProofTime):
		desc = "the DPoP proof was not issued within the accepted time window"
	case errors.Is(err, dpop.ErrTokenHash):
		desc = "the DPoP proof is for another access token"
	case errors.Is(err, dpop.ErrKeyMismatch):
		desc = "the DPoP proof is not signed by the key the access token is bound to"
	case errors.Is(err, dpop.ErrReplay):
		desc = "the DPoP proof was already used"
	}
	g.cfg.Logger.InfoContext(ctx, "rs: DPoP proof rejected", "token_sha256", tokenHash(token), "err", err)
	return &Error{Kind: ErrInvalidDPoPProof, Description: desc, Err: err, viaDPoP: true}
}

// defaultRequestURL is [Config.RequestURL] when unset.
func defaultRequestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

// fromDPoPHeader is fromHeader for a guard with [Config.DPoP]: it also
// accepts "Authorization: DPoP <token>" (RFC 9449 §7.1), whose token68
// syntax is RFC 6750's b64token. Its errors are marked for the DPoP
// challenge when the scheme is DPoP.
func fromDPoPHeader(r *http.Request) (string, error) {
	return fromAuthorizationDPoP(r.Header["Authorization"])
}

// fromAuthorizationDPoP reads the values of an Authorization field with
// the Bearer or the DPoP scheme; its errors are marked for the DPoP
// challenge when the scheme is DPoP.
func fromAuthorizationDPoP(vals []string) (string, error) {
	tok, viaDPoP, err := fromAuthorization(vals, true)
	if err != nil && viaDPoP {
		if e, ok := err.(*Error); ok {
			e.viaDPoP = true
		}
	}
	return tok, err
}

// usesDPoPScheme reports whether vals, the values of the request's
// Authorization field, are one with the DPoP scheme.
func usesDPoPScheme(vals []string) bool {
	if len(vals) != 1 {
		return false
	}
	v := strings.TrimLeft(vals[0], " \t")
	return len(v) > 4 && strings.EqualFold(v[:4], "DPoP") && (v[4] == ' ' || v[4] == '\t')
}
