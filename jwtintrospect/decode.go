package jwtintrospect

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/jwks"
	"github.com/tokengate/tokengate/internal/strictjson"
	"github.com/tokengate/tokengate/introspect"
)

// A Decoder is an introspect.Decoder.
var _ introspect.Decoder = (*Decoder)(nil)

// maxHeaderBytes caps a JOSE header segment (base64url text).
const maxHeaderBytes = 8 << 10

// Decode verifies body, an RFC 9701 response served with contentType, and
// returns the RFC 7662 response it carries. Its errors match
// [introspect.ErrMalformedResponse] and one of [ErrFormat], [ErrSignature],
// [ErrDecrypt] or [ErrClaims]; setting up a remote JWK Set may also fail
// with [introspect.ErrUnavailable]. A verified inactive response is
// returned, not an error, with Active false.
func (d *Decoder) Decode(ctx context.Context, contentType string, body []byte) (*introspect.Response, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != MediaType {
		return nil, reject(ErrFormat, fmt.Sprintf("Content-Type %.60q is not %s", contentType, MediaType), nil)
	}
	if int64(len(body)) > d.cfg.MaxResponseBytes {
		return nil, reject(ErrFormat, fmt.Sprintf("response of %d bytes exceeds MaxResponseBytes (%d)", len(body), d.cfg.MaxResponseBytes), nil)
	}
	compact := string(bytes.TrimSpace(body))
	switch strings.Count(compact, ".") {
	case 2:
		if d.cfg.RequireEncryption {
			return nil, reject(ErrDecrypt, "the response is signed but not encrypted, and Config.RequireEncryption is set", nil)
		}
		return d.verify(ctx, compact)
	case 4:
		jws, err := d.decrypt(compact)
		if err != nil {
			return nil, err
		}
		if strings.Count(jws, ".") != 2 {
			return nil, reject(ErrSignature, "the encrypted response does not hold a signed JWT", nil)
		}
		return d.verify(ctx, jws)
	default:
		return nil, reject(ErrFormat, "the response is neither a compact JWS nor a compact JWE", nil)
	}
}

// header holds the JOSE header members this package reads.
type header struct {
	Alg string
	Enc string
	Kid string
	Typ string
	Cty string
}

// parseHeader decodes a protected header segment, refusing what this
// package never accepts: "crit" (no extension is understood), "zip", and
// members of the wrong JSON type.
func parseHeader(segment string) (*header, error) {
	if len(segment) > maxHeaderBytes {
		return nil, reject(ErrFormat, "JOSE header too large", nil)
	}
	raw, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return nil, reject(ErrFormat, "JOSE header is not base64url", nil)
	}
	// Exact member names, and no name twice (RFC 7515 §5.2 allows either
	// refusing duplicates or taking the last; go-jose, which parses the
	// header again, takes the last, so a duplicate could mean one thing
	// here and another there).
	var m map[string]json.RawMessage
	if err := strictjson.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, reject(ErrFormat, "JOSE header is not a JSON object with distinct member names", err)
	}
	if _, ok := m["crit"]; ok {
		return nil, reject(ErrFormat, `JOSE header has "crit"; no extension is supported`, nil)
	}
	if _, ok := m["zip"]; ok {
		return nil, reject(ErrDecrypt, `compressed JWE ("zip") refused`, nil)
	}
	var h header
	for name, dst := range map[string]*string{"alg": &h.Alg, "enc": &h.Enc, "kid": &h.Kid, "typ": &h.Typ, "cty": &h.Cty} {
		v, ok := m[name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return nil, reject(ErrFormat, fmt.Sprintf("JOSE header member %q is not a string", name), nil)
		}
	}
	return &h, nil
}

// isType reports whether typ names the media type want, compared
// case-insensitively with or without the "application/" prefix (RFC 7515
// §4.1.9).
func isType(typ, want string) bool {
	typ = strings.TrimSpace(typ)
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	return strings.EqualFold(typ, want)
}

func (d *Decoder) decrypt(compact string) (string, error) {
	if len(d.cfg.DecryptionKeys) == 0 {
		return "", reject(ErrDecrypt, "the response is encrypted but Config.DecryptionKeys is empty", nil)
	}
	h, err := parseHeader(compact[:strings.IndexByte(compact, '.')])
	if err != nil {
		return "", err
	}
	if !slices.Contains(d.keyAlgs, jose.KeyAlgorithm(h.Alg)) {
		return "", reject(ErrDecrypt, fmt.Sprintf("JWE alg %.40q is not in Config.KeyAlgorithms", h.Alg), nil)
	}
	if !slices.Contains(d.encAlgs, jose.ContentEncryption(h.Enc)) {
		return "", reject(ErrDecrypt, fmt.Sprintf("JWE enc %.40q is not in Config.ContentEncryption", h.Enc), nil)
	}
	if h.Cty != "" && !isType(h.Cty, "JWT") {
		return "", reject(ErrDecrypt, fmt.Sprintf("JWE cty %.40q is not JWT", h.Cty), nil)
	}
	if h.Typ != "" && !isType(h.Typ, "JWT") && !isType(h.Typ, "token-introspection+jwt") {
		return "", reject(ErrFormat, fmt.Sprintf("JWE typ %.40q is neither JWT nor token-introspection+jwt", h.Typ), nil)
	}
	jwe, err := jose.ParseEncryptedCompact(compact, d.keyAlgs, d.encAlgs)
	if err != nil {
		return "", reject(ErrDecrypt, "parsing the JWE", err)
	}
	if jwe.Header.Algorithm != h.Alg || jwe.Header.KeyID != h.Kid {
		return "", reject(ErrFormat, "ambiguous JWE header", nil)
	}
	tried := false
	for _, k := range d.cfg.DecryptionKeys {
		if (h.Kid != "" && k.KeyID != h.Kid) || !k.fits(h.Alg) {
			continue
		}
		tried = true
		if plain, err := jwe.Decrypt(k.PrivateKey); err == nil {
			return string(plain), nil
		}
	}
	if !tried {
		return "", reject(ErrDecrypt, fmt.Sprintf("no decryption key with kid %.80q fits alg %s", h.Kid, h.Alg), nil)
	}
	return "", reject(ErrDecrypt, "decryption failed", nil)
}

func (d *Decoder) verify(ctx context.Context, compact string) (*introspect.Response, error) {
	h, err := parseHeader(compact[:strings.IndexByte(compact, '.')])
	if err != nil {
		return nil, err
	}
	if !isType(h.Typ, "token-introspection+jwt") {
		return nil, reject(ErrFormat, fmt.Sprintf("JWS typ %.60q is not token-introspection+jwt (RFC 9701 §5)", h.Typ), nil)
	}
	if strings.EqualFold(h.Alg, "none") || !slices.Contains(d.sigAlgs, jose.SignatureAlgorithm(h.Alg)) {
		return nil, reject(ErrSignature, fmt.Sprintf("alg %.40q is not in Config.SigningAlgorithms", h.Alg), nil)
	}
	jws, err := jose.ParseSignedCompact(compact, d.sigAlgs)
	if err != nil {
		return nil, reject(ErrSignature, "parsing the JWS", err)
	}
	if len(jws.Signatures) != 1 || jws.Signatures[0].Header.Algorithm != h.Alg || jws.Signatures[0].Header.KeyID != h.Kid {
		return nil, reject(ErrFormat, "ambiguous JWS header", nil)
	}
	payload, err := d.verifySignature(ctx, jws, h)
	if err != nil {
		return nil, err
	}
	return d.checkClaims(payload)
}

func (d *Decoder) verifySignature(ctx context.Context, jws *jose.JSONWebSignature, h *header) ([]byte, error) {
	if strings.HasPrefix(h.Alg, "HS") {
		// Only ever the configured secret: never a key from the JWK Set, so
		// a public key cannot be used as an HMAC secret (RFC 8725 §2.1).
		payload, err := jws.Verify(d.cfg.HMACSecret)
		if err != nil {
			return nil, reject(ErrSignature, "HMAC does not match", nil)
		}
		return payload, nil
	}
	var candidates []jwkset.JWK
	switch {
	case d.pinned != nil && h.Kid != "":
		for _, k := range d.pinned {
			if k.Marshal().KID == h.Kid {
				candidates = append(candidates, k)
			}
		}
		if len(candidates) == 0 {
			return nil, reject(ErrSignature, fmt.Sprintf("no key with kid %.80q in Config.JWKS", h.Kid), nil)
		}
	case d.pinned != nil:
		candidates = d.pinned
	case d.remote == nil:
		return nil, reject(ErrSignature, "no key set configured for asymmetric signatures", nil)
	case h.Kid != "":
		k, err := d.remote.Key(ctx, h.Kid)
		if errors.Is(err, jwks.ErrKeyNotFound) {
			return nil, reject(ErrSignature, fmt.Sprintf("no key with kid %.80q in the authorization server's JWK Set", h.Kid), err)
		}
		if err != nil {
			return nil, fmt.Errorf("jwtintrospect: %w: %w", introspect.ErrUnavailable, err)
		}
		candidates = []jwkset.JWK{k}
	default:
		all, err := d.remote.Keys(ctx)
		if err != nil {
			return nil, fmt.Errorf("jwtintrospect: %w: %w", introspect.ErrUnavailable, err)
		}
		candidates = all
	}
	payload, err := jwks.Verify(jws, h.Alg, candidates)
	if err != nil {
		return nil, reject(ErrSignature, "no key of the JWK Set verifies it", err)
	}
	return payload, nil
}

// claims are the top-level members of an RFC 9701 response.
type claims struct {
	Issuer             *string          `json:"iss"`
	Audience           json.RawMessage  `json:"aud"`
	IssuedAt           *json.Number     `json:"iat"`
	Expiry             *json.Number     `json:"exp"`
	NotBefore          *json.Number     `json:"nbf"`
	TokenIntrospection *json.RawMessage `json:"token_introspection"`
}

func (d *Decoder) checkClaims(payload []byte) (*introspect.Response, error) {
	// Claim names are exact: encoding/json alone would let "AUD" or a
	// second "TOKEN_INTROSPECTION" fill the fields, and duplicates are
	// refused at every depth, token_introspection included (RFC 7519 §4).
	var c claims
	if err := strictjson.Unmarshal(payload, &c); err != nil {
		return nil, reject(ErrClaims, "claims are not a JSON object of the expected shape with distinct, exactly spelt names", err)
	}
	if c.Issuer == nil || *c.Issuer != d.cfg.Issuer {
		return nil, reject(ErrClaims, fmt.Sprintf("iss is not %q", d.cfg.Issuer), nil)
	}
	var aud []string
	if json.Unmarshal(c.Audience, &aud) != nil {
		var one string
		if json.Unmarshal(c.Audience, &one) != nil {
			return nil, reject(ErrClaims, "aud is missing or not a string or an array of strings", nil)
		}
		aud = []string{one}
	}
	if !slices.Contains(aud, d.cfg.ClientID) {
		return nil, reject(ErrClaims, fmt.Sprintf("aud does not contain %q", d.cfg.ClientID), nil)
	}
	now := d.cfg.Now()
	skew := d.cfg.ClockSkew
	if c.IssuedAt == nil {
		return nil, reject(ErrClaims, "iat is missing (RFC 9701 §5)", nil)
	}
	iat, err := numericDate(*c.IssuedAt)
	if err != nil {
		return nil, reject(ErrClaims, "iat", err)
	}
	if iat.After(now.Add(skew)) {
		return nil, reject(ErrClaims, fmt.Sprintf("iat %s is in the future", iat.Format(time.RFC3339)), nil)
	}
	if iat.Before(now.Add(-d.cfg.MaxAge - skew)) {
		return nil, reject(ErrClaims, fmt.Sprintf("iat %s is older than MaxAge (%s)", iat.Format(time.RFC3339), d.cfg.MaxAge), nil)
	}
	if c.Expiry != nil {
		exp, err := numericDate(*c.Expiry)
		if err != nil {
			return nil, reject(ErrClaims, "exp", err)
		}
		if !now.Before(exp.Add(skew)) {
			return nil, reject(ErrClaims, fmt.Sprintf("the response expired at %s", exp.Format(time.RFC3339)), nil)
		}
	}
	if c.NotBefore != nil {
		nbf, err := numericDate(*c.NotBefore)
		if err != nil {
			return nil, reject(ErrClaims, "nbf", err)
		}
		if nbf.After(now.Add(skew)) {
			return nil, reject(ErrClaims, fmt.Sprintf("the response is not valid before %s", nbf.Format(time.RFC3339)), nil)
		}
	}
	if c.TokenIntrospection == nil {
		return nil, reject(ErrClaims, "token_introspection is missing", nil)
	}
	// UnmarshalJSON insists on a JSON object with an "active" member.
	var resp introspect.Response
	if err := resp.UnmarshalJSON(*c.TokenIntrospection); err != nil {
		return nil, reject(ErrClaims, "token_introspection", err)
	}
	return &resp, nil
}

var errNumericDate = errors.New("not a NumericDate")

// numericDate converts a JSON number of seconds since the epoch (RFC 7519
// §2), possibly fractional, to a time.
func numericDate(n json.Number) (time.Time, error) {
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return time.Time{}, errNumericDate
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}
