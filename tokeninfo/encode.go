package tokeninfo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// MarshalJSON encodes the response in RFC 7662 form, omitting absent members.
// An inactive response is encoded as {"active":false} alone, as RFC 7662 §2.2
// recommends that nothing else be disclosed.
func (r *Response) MarshalJSON() ([]byte, error) {
	if !r.Active {
		return []byte(`{"active":false}`), nil
	}
	// Written by hand rather than through a map: an authorization server
	// encodes one of these per introspection, and encoding/json's map path
	// cost about 10µs and 38 allocations for a typical answer.
	b := make([]byte, 0, 256)
	b = append(b, `{"active":true`...)
	b = appendMember(b, "scope", r.Scope)
	b = appendMember(b, "client_id", r.ClientID)
	b = appendMember(b, "username", r.Username)
	b = appendMember(b, "token_type", r.TokenType)
	b = appendTime(b, "exp", r.Expiry)
	b = appendTime(b, "iat", r.IssuedAt)
	b = appendTime(b, "nbf", r.NotBefore)
	b = appendMember(b, "sub", r.Subject)
	switch len(r.Audience) {
	case 0:
	case 1:
		b = appendMember(b, "aud", r.Audience[0])
	default:
		b = append(b, `,"aud":[`...)
		for i, a := range r.Audience {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, a)
		}
		b = append(b, ']')
	}
	b = appendMember(b, "iss", r.Issuer)
	b = appendMember(b, "jti", r.JWTID)
	if len(r.Confirmation) > 0 {
		var err error
		if b, err = appendRaw(b, "cnf", r.Confirmation); err != nil {
			return nil, err
		}
	}
	if len(r.extra) > 0 {
		names := make([]string, 0, len(r.extra))
		for k := range r.extra {
			if !namedMembers[k] {
				names = append(names, k)
			}
		}
		slices.Sort(names)
		for _, k := range names {
			var err error
			if b, err = appendRaw(b, k, r.extra[k]); err != nil {
				return nil, err
			}
		}
	}
	return append(b, '}'), nil
}

// namedMembers are the members with a field of their own; an extra member of
// the same name (possible only through SetExtra) is never encoded.
var namedMembers = map[string]bool{
	"active": true, "scope": true, "client_id": true, "username": true, "token_type": true,
	"exp": true, "iat": true, "nbf": true, "sub": true, "aud": true, "iss": true, "jti": true, "cnf": true,
}

func appendMember(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, v)
}

func appendTime(b []byte, name string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, t.Unix(), 10)
}

func appendRaw(b []byte, name string, raw json.RawMessage) ([]byte, error) {
	if !json.Valid(raw) {
		return nil, fmt.Errorf("tokeninfo: member %q is not valid JSON", name)
	}
	b = append(b, ',')
	b = appendJSONString(b, name)
	b = append(b, ':')
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("tokeninfo: member %q: %w", name, err)
	}
	return append(b, buf.Bytes()...), nil
}

// appendJSONString appends s as a JSON string, escaping as encoding/json does
// (including <, > and &, and U+2028/U+2029) and replacing invalid UTF-8 with
// U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
