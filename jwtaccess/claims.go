package jwtaccess

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/tokengate/tokengate/internal/strictjson"
	"github.com/tokengate/tokengate/introspect"
)

// claims checks a verified payload and maps it into a verdict. Claim names
// are exact and none may appear twice (RFC 7519 §4): a second "aud" or an
// "AUD" cannot change what is checked here.
func (v *Validator) claims(payload []byte) (*introspect.Response, error) {
	var m map[string]json.RawMessage
	if err := strictjson.Unmarshal(payload, &m); err != nil || m == nil {
		return nil, refuse(ErrClaims, "the payload is not a JSON object with distinct claim names")
	}
	resp := &introspect.Response{Active: true}
	str := func(name string, dst *string) error {
		raw, ok := m[name]
		if !ok {
			return nil
		}
		if json.Unmarshal(raw, dst) != nil || raw[0] != '"' {
			return refuse(ErrClaims, "%s is not a string", name)
		}
		return nil
	}
	for name, dst := range map[string]*string{"iss": &resp.Issuer, "sub": &resp.Subject, "client_id": &resp.ClientID, "scope": &resp.Scope, "jti": &resp.JWTID} {
		if err := str(name, dst); err != nil {
			return nil, err
		}
	}
	if _, ok := m["iss"]; !ok || resp.Issuer != v.cfg.Issuer {
		return nil, refuse(ErrClaims, "iss is not %q", v.cfg.Issuer)
	}
	aud, err := audience(m["aud"])
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(v.cfg.Audiences, a) }) {
		return nil, refuse(ErrClaims, "aud names none of Config.Audiences")
	}
	resp.Audience = aud

	now := v.cfg.Now()
	skew := v.cfg.ClockSkew
	raw, ok := m["exp"]
	if !ok {
		return nil, refuse(ErrClaims, "exp is missing (RFC 9068 §2.2)")
	}
	if resp.Expiry, err = numericDate("exp", raw); err != nil {
		return nil, err
	}
	if !now.Before(resp.Expiry.Add(skew)) {
		return nil, refuse(ErrClaims, "expired at %s", resp.Expiry.Format(time.RFC3339))
	}
	if raw, ok := m["nbf"]; ok {
		if resp.NotBefore, err = numericDate("nbf", raw); err != nil {
			return nil, err
		}
		if now.Add(skew).Before(resp.NotBefore) {
			return nil, refuse(ErrClaims, "not valid before %s", resp.NotBefore.Format(time.RFC3339))
		}
	}
	if raw, ok := m["iat"]; ok {
		if resp.IssuedAt, err = numericDate("iat", raw); err != nil {
			return nil, err
		}
		if now.Add(skew).Before(resp.IssuedAt) {
			return nil, refuse(ErrClaims, "issued in the future, at %s", resp.IssuedAt.Format(time.RFC3339))
		}
	}
	if resp.JWTID != "" && v.revokedAt.revoked(resp.JWTID, now) {
		return nil, refuse(ErrRevoked, "jti %.80q", resp.JWTID)
	}
	if raw, ok := m["cnf"]; ok && !bytes.Equal(raw, []byte("null")) {
		if raw[0] != '{' {
			return nil, refuse(ErrClaims, "cnf is not an object (RFC 7800 §3.1)")
		}
		resp.Confirmation = raw
	}
	for name, raw := range m {
		if !mapped[name] {
			resp.SetExtra(name, raw)
		}
	}
	return resp, nil
}

// mapped are the claims with a field of their own in the verdict.
var mapped = map[string]bool{
	"iss": true, "sub": true, "client_id": true, "scope": true, "jti": true,
	"aud": true, "exp": true, "nbf": true, "iat": true, "cnf": true,
}

// audience reads aud: a string or an array of strings (RFC 7519 §4.1.3).
func audience(raw json.RawMessage) ([]string, error) {
	if raw == nil {
		return nil, refuse(ErrClaims, "aud is missing")
	}
	var one string
	if raw[0] == '"' && json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var list []string
	if raw[0] != '[' || json.Unmarshal(raw, &list) != nil {
		return nil, refuse(ErrClaims, "aud is not a string or an array of strings")
	}
	return list, nil
}

// numericDate reads a NumericDate (RFC 7519 §2): a JSON number of seconds,
// possibly with a fraction; a string holding one is not.
func numericDate(name string, raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || raw[0] < '0' || raw[0] > '9' {
		return time.Time{}, refuse(ErrClaims, "%s is not a non-negative number", name)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(f, 0) || f > 1<<40 {
		return time.Time{}, refuse(ErrClaims, "%s is out of range", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
