package tokeninfo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/strictjson"
)

// Response is an RFC 7662 §2.2 introspection response.
//
// The members the RFC names are decoded into fields; every other top-level
// member (cnf, custom claims, …) is kept as raw JSON and read with [Response.Extra]
// or [Response.Claim]. Decoding is tolerant where real servers differ: active
// may be the JSON strings "true"/"false" (django-oidc-provider), times may be
// floats, and aud may be a string or an array.
type Response struct {
	// Active reports whether the token is currently active (RFC 7662 §2.2).
	Active bool
	// Scope is the space-delimited scope string, as sent.
	Scope string
	// ClientID is the client the token was issued to.
	ClientID string
	// Username is a human-readable identifier of the resource owner.
	Username string
	// TokenType is the type of the token (RFC 6749 §7.1), e.g. "Bearer" or "DPoP".
	TokenType string
	// Expiry is the "exp" member; the zero Time means it was absent.
	Expiry time.Time
	// IssuedAt is the "iat" member; the zero Time means it was absent.
	IssuedAt time.Time
	// NotBefore is the "nbf" member; the zero Time means it was absent.
	NotBefore time.Time
	// Subject is the "sub" member.
	Subject string
	// Audience is the "aud" member, whether it was sent as a string or an array.
	Audience []string
	// Issuer is the "iss" member.
	Issuer string
	// JWTID is the "jti" member.
	JWTID string
	// Confirmation is the raw "cnf" member (RFC 7800), nil when absent.
	Confirmation json.RawMessage

	extra map[string]json.RawMessage
}

// Extra returns the raw JSON of a top-level member that has no field of its
// own, such as a custom claim, and whether it was present.
func (r *Response) Extra(name string) (json.RawMessage, bool) {
	v, ok := r.extra[name]
	return v, ok
}

// Claim decodes the named extra member into v. It returns an error if the
// member is absent or does not decode into v.
func (r *Response) Claim(name string, v any) error {
	raw, ok := r.extra[name]
	if !ok {
		return fmt.Errorf("tokeninfo: no member %q in response", name)
	}
	return json.Unmarshal(raw, v)
}

// ExtraNames returns the names of the members kept as raw JSON, in no
// particular order.
func (r *Response) ExtraNames() []string {
	names := make([]string, 0, len(r.extra))
	for k := range r.extra {
		names = append(names, k)
	}
	return names
}

// SetExtra sets a member kept as raw JSON; it is meant for authorization
// servers and tests that build a Response. The value must be valid JSON.
func (r *Response) SetExtra(name string, raw json.RawMessage) {
	if r.extra == nil {
		r.extra = make(map[string]json.RawMessage)
	}
	r.extra[name] = raw
}

// Scopes returns the scope string split on spaces (RFC 6749 §3.3), with empty
// entries dropped.
func (r *Response) Scopes() []string { return strings.Fields(r.Scope) }

// UnmarshalJSON decodes an RFC 7662 response tolerantly (see [Response]).
// The data must be a JSON object with an "active" member, which RFC 7662
// §2.2 requires, and no member name twice at any depth: which of two
// "active" members counts is up to each parser (RFC 8259 §4), so a second
// one must not decide.
func (r *Response) UnmarshalJSON(data []byte) error {
	var m map[string]json.RawMessage
	if err := strictjson.Unmarshal(data, &m); err != nil {
		return err
	}
	if m == nil {
		return fmt.Errorf("tokeninfo: response is not a JSON object")
	}
	if _, ok := m["active"]; !ok {
		// RFC 7662 §2.2: active is REQUIRED. Without it this is not an
		// introspection response (a misrouted endpoint, say), which must
		// not pass as a mere inactive token.
		return fmt.Errorf("tokeninfo: member \"active\" is missing (RFC 7662 §2.2)")
	}
	*r = Response{}
	for k, v := range m {
		var err error
		switch k {
		case "active":
			r.Active, err = decodeBool(v)
		case "scope":
			r.Scope, err = decodeString(v)
		case "client_id":
			r.ClientID, err = decodeString(v)
		case "username":
			r.Username, err = decodeString(v)
		case "token_type":
			r.TokenType, err = decodeString(v)
		case "exp":
			r.Expiry, err = decodeTime(v)
		case "iat":
			r.IssuedAt, err = decodeTime(v)
		case "nbf":
			r.NotBefore, err = decodeTime(v)
		case "sub":
			r.Subject, err = decodeString(v)
		case "aud":
			r.Audience, err = decodeAudience(v)
		case "iss":
			r.Issuer, err = decodeString(v)
		case "jti":
			r.JWTID, err = decodeString(v)
		case "cnf":
			if !isNull(v) {
				r.Confirmation = append(json.RawMessage(nil), v...)
			}
		default:
			r.SetExtra(k, append(json.RawMessage(nil), v...))
		}
		if err != nil {
			return fmt.Errorf("tokeninfo: member %q: %w", k, err)
		}
	}
	return nil
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

func decodeBool(v json.RawMessage) (bool, error) {
	var b bool
	if err := json.Unmarshal(v, &b); err == nil {
		return b, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fmt.Errorf("not a boolean: %.40s", v)
}

func decodeString(v json.RawMessage) (string, error) {
	if isNull(v) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("not a string")
	}
	return s, nil
}

// maxUnix bounds times to what time.Time and int64 seconds represent safely.
const maxUnix = 1 << 40

func decodeTime(v json.RawMessage) (time.Time, error) {
	if isNull(v) {
		return time.Time{}, nil
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return time.Time{}, fmt.Errorf("not a number")
		}
		if f, err = strconv.ParseFloat(s, 64); err != nil {
			return time.Time{}, fmt.Errorf("not a number")
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > maxUnix {
		return time.Time{}, fmt.Errorf("time out of range")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

func decodeAudience(v json.RawMessage) ([]string, error) {
	if isNull(v) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		if s == "" {
			return nil, nil
		}
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, fmt.Errorf("not a string or an array of strings")
	}
	return list, nil
}
