package rs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/tokeninfo"
)

// verdict has the token introspected and applies the policy to the
// response. cnf holds the token's cnf.jkt when it is DPoP-bound and the
// guard accepts DPoP (the caller must then check a proof), and its
// cnf["x5t#S256"] when it is certificate-bound and the guard accepts mTLS
// (the caller must then check the client certificate).
func (g *Guard) verdict(ctx context.Context, token string) (p *Principal, cnf confirmation, err error) {
	resp, err := g.introspect(ctx, token)
	if err != nil {
		return nil, cnf, err
	}
	invalid := func(reason, desc string) (*Principal, confirmation, error) {
		return nil, confirmation{}, newError(ErrInvalidToken, desc, nil).because(reason)
	}
	switch err := resp.ValidAt(g.cfg.Now(), g.cfg.ClockSkew); {
	case errors.Is(err, tokeninfo.ErrExpired):
		return invalid("expired", "the access token has expired")
	case errors.Is(err, tokeninfo.ErrNotYetValid):
		return invalid("not_yet_valid", "the access token is not valid yet")
	case err != nil:
		return invalid(reasonInactive, "the access token is not active")
	}
	typeDPoP := strings.EqualFold(resp.TokenType, "DPoP")
	if g.cfg.DPoP == nil && !g.cfg.MTLS {
		if typeDPoP || hasConfirmation(resp.Confirmation) {
			return invalid(reasonSenderConstrained, "sender-constrained access tokens are not supported")
		}
	} else if typeDPoP || len(resp.Confirmation) > 0 { // parsed once: absent, null and {} bind nothing
		var desc string
		if cnf, desc = g.parseConfirmation(resp.Confirmation, typeDPoP); desc != "" {
			return invalid(reasonSenderConstrained, desc)
		}
	}
	if resp.TokenType != "" && !(typeDPoP && cnf.jkt != "") && !slices.ContainsFunc(g.cfg.TokenTypes, func(t string) bool { return strings.EqualFold(t, resp.TokenType) }) {
		return invalid("token_type", "the access token type is not accepted")
	}
	if !g.cfg.SkipAudienceCheck && !slices.ContainsFunc(resp.Audience, func(a string) bool { return slices.Contains(g.cfg.Audiences, a) }) {
		return invalid("audience", "the access token is not meant for this resource")
	}
	if len(g.cfg.Issuers) > 0 && !slices.Contains(g.cfg.Issuers, resp.Issuer) {
		return invalid("issuer", "the access token comes from an issuer that is not trusted")
	}
	if len(g.cfg.ClientIDs) > 0 && !slices.Contains(g.cfg.ClientIDs, resp.ClientID) {
		return invalid("client", "the access token was issued to a client that is not allowed")
	}
	granted, err := g.scopeSets.parse(resp.Scope)
	if err != nil {
		return nil, confirmation{}, g.introspectionError(ctx, token, fmt.Errorf("rs: scope member: %w: %w", introspect.ErrMalformedResponse, err))
	}
	return &Principal{
		Subject:  resp.Subject,
		ClientID: resp.ClientID,
		Scopes:   granted,
		Audience: resp.Audience,
		Expiry:   resp.Expiry,
		Issuer:   resp.Issuer,
		Response: resp,
		guard:    g,
	}, cnf, nil
}

// confirmation is what a cnf member (RFC 7800) binds a token to, as far
// as the guard accepts it: a DPoP key (RFC 9449 §6.1) and a client
// certificate (RFC 8705 §3.1).
type confirmation struct {
	jkt string // RFC 7638 thumbprint of the DPoP key
	x5t string // x5t#S256: SHA-256 thumbprint of the client certificate
}

// parseConfirmation returns the bindings of a cnf member, or the
// description of why the token cannot be accepted: a binding this guard
// does not accept, a DPoP token_type without jkt, or a member that is not
// understood (which fails closed).
func (g *Guard) parseConfirmation(raw json.RawMessage, typeDPoP bool) (cnf confirmation, reject string) {
	const unsupported = "sender-constrained access tokens are not supported"
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil && len(bytes.TrimSpace(raw)) > 0 && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return cnf, unsupported
	}
	x5t, hasX5t := m["x5t#S256"]
	if hasX5t && !g.cfg.MTLS {
		return cnf, "certificate-bound access tokens are not supported"
	}
	jkt, hasJKT := m["jkt"]
	if hasJKT && g.cfg.DPoP == nil {
		return cnf, unsupported
	}
	for k := range m {
		if k != "jkt" && k != "x5t#S256" {
			return cnf, unsupported
		}
	}
	if hasJKT {
		if err := json.Unmarshal(jkt, &cnf.jkt); err != nil || cnf.jkt == "" {
			return confirmation{}, unsupported
		}
	}
	if hasX5t {
		if err := json.Unmarshal(x5t, &cnf.x5t); err != nil || cnf.x5t == "" {
			return confirmation{}, unsupported
		}
	}
	if typeDPoP && cnf.jkt == "" {
		if g.cfg.DPoP == nil {
			return confirmation{}, unsupported
		}
		return confirmation{}, "the DPoP-bound access token has no key confirmation (cnf.jkt)"
	}
	return cnf, ""
}

// hasConfirmation reports whether a cnf member binds the token to a key:
// anything but absent, null or an empty object. An unparsable cnf counts as
// binding, so that it fails closed.
func hasConfirmation(cnf json.RawMessage) bool {
	cnf = bytes.TrimSpace(cnf)
	if len(cnf) == 0 || bytes.Equal(cnf, []byte("null")) {
		return false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(cnf, &m); err != nil {
		return true
	}
	return len(m) > 0
}
