// Package compact reads the parts of a JWS or JWE in compact serialization
// (RFC 7515 §7.1, RFC 7516 §7.1) that are needed before, or instead of,
// verifying it: its shape, its protected header, and the unverified "iss"
// that picks which issuer's keys to verify it with. Nothing read here is
// trusted: it only routes a token to the code that verifies it.
package compact

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tokengate/tokengate/internal/strictjson"
)

// MaxHeaderBytes caps the base64url text of a protected header.
const MaxHeaderBytes = 8 << 10

// ErrMalformed means the text is not a compact JWS or JWE with a readable
// header (or payload, for [Issuer]).
var ErrMalformed = errors.New("compact: malformed")

// b64 is base64url without padding, refusing non-zero trailing bits so
// that one token has one encoding (RFC 7515 §2, RFC 4648 §3.5).
var b64 = base64.RawURLEncoding.Strict()

// Header holds the protected header members tokengate reads. Absent
// members are "".
type Header struct {
	Alg, Kid, Typ, Cty, Enc string
	// Crit and Zip report whether "crit" and "zip" are present.
	Crit, Zip bool
	// Names are the members present, for callers that refuse some.
	Names []string
}

// Parts splits a compact serialization into its segments: three for a JWS,
// five for a JWE. Any other count, or an empty header segment, is
// malformed. Segments are not decoded.
func Parts(token string) ([]string, error) {
	n := strings.Count(token, ".")
	if n != 2 && n != 4 {
		return nil, fmt.Errorf("%w: %d segments, not 3 (JWS) or 5 (JWE)", ErrMalformed, n+1)
	}
	parts := strings.Split(token, ".")
	if parts[0] == "" {
		return nil, fmt.Errorf("%w: empty header", ErrMalformed)
	}
	for _, p := range parts {
		if !isBase64URL(p) {
			return nil, fmt.Errorf("%w: a segment is not base64url", ErrMalformed)
		}
	}
	return parts, nil
}

func isBase64URL(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ParseHeader decodes a protected header segment: a JSON object with exact
// member names, none twice, whose alg, kid, typ, cty and enc, when
// present, are strings.
func ParseHeader(segment string) (*Header, error) {
	if len(segment) > MaxHeaderBytes {
		return nil, fmt.Errorf("%w: header longer than %d bytes", ErrMalformed, MaxHeaderBytes)
	}
	raw, err := b64.DecodeString(segment)
	if err != nil {
		return nil, fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	var m map[string]json.RawMessage
	if err := strictjson.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: header is not a JSON object with distinct names: %w", ErrMalformed, errOrNull(err))
	}
	h := &Header{Names: make([]string, 0, len(m))}
	for name := range m {
		h.Names = append(h.Names, name)
	}
	_, h.Crit = m["crit"]
	_, h.Zip = m["zip"]
	for name, dst := range map[string]*string{"alg": &h.Alg, "kid": &h.Kid, "typ": &h.Typ, "cty": &h.Cty, "enc": &h.Enc} {
		if v, ok := m[name]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return nil, fmt.Errorf("%w: header member %q is not a string", ErrMalformed, name)
			}
		}
	}
	return h, nil
}

func errOrNull(err error) error {
	if err == nil {
		return errors.New("null")
	}
	return err
}

// Issuer returns the "iss" claim of a JWS payload segment, unverified: a
// JSON object with exact member names, none twice, whose iss is a string.
// It is "" when iss is absent.
func Issuer(payload string) (string, error) {
	raw, err := b64.DecodeString(payload)
	if err != nil {
		return "", fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	var c struct {
		Iss *string `json:"iss"`
	}
	if err := strictjson.Unmarshal(raw, &c); err != nil {
		return "", fmt.Errorf("%w: payload is not a JSON object with distinct names and a string iss: %w", ErrMalformed, err)
	}
	if c.Iss == nil {
		return "", nil
	}
	return *c.Iss, nil
}

// IsType reports whether typ names the media type want (RFC 7515 §4.1.9):
// compared case-insensitively, with or without the "application/" prefix.
func IsType(typ, want string) bool {
	const prefix = "application/"
	if len(typ) > len(prefix) && strings.EqualFold(typ[:len(prefix)], prefix) {
		typ = typ[len(prefix):]
	}
	return strings.EqualFold(typ, want)
}
