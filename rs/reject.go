package rs

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokengate/tokengate/introspect"
)

// Rejection is the HTTP answer to a rejected request, independent of any
// framework: every adapter writes exactly these bytes.
type Rejection struct {
	// Status is the HTTP status code: 400, 401, 403 or 503.
	Status int
	// Header holds WWW-Authenticate (for 400, 401 and 403), Retry-After (for
	// 503), Cache-Control: no-store and, with a body, Content-Type.
	Header http.Header
	// Body is a small JSON object {"error":…,"error_description":…}, or
	// empty for a request without token (RFC 6750 §3.1 gives it no error),
	// unless [Config.ErrorBody] made another.
	Body []byte

	// Code is the RFC 6750 §3.1 error code: invalid_request, invalid_token,
	// insufficient_scope, invalid_dpop_proof (RFC 9449), or
	// temporarily_unavailable for a 503; empty for a request without token.
	Code string
	// Description is the error_description: a fixed text, safe to show.
	Description string
	// Err is the error that was rejected, for errors.Is and logs. Its text
	// must not be sent to the client.
	Err error
}

// Write writes the rejection to w: its status, its headers and its body.
func (rj *Rejection) Write(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range rj.Header {
		h[k] = v
	}
	if len(rj.Body) > 0 {
		h.Set("Content-Length", strconv.Itoa(len(rj.Body)))
	}
	w.WriteHeader(rj.Status)
	if len(rj.Body) > 0 {
		_, _ = w.Write(rj.Body)
	}
}

// Reject turns an error into its RFC 6750 §3 answer:
//
//   - [ErrNoToken]: 401 with a bare challenge, `Bearer realm="…"`;
//   - [ErrInvalidRequest]: 400, error="invalid_request";
//   - [ErrInvalidToken]: 401, error="invalid_token";
//   - [ErrInvalidDPoPProof]: 401, error="invalid_dpop_proof" (RFC 9449 §7.1);
//   - [ErrInsufficientScope]: 403, error="insufficient_scope" and the
//     scope attribute printed by the requirement;
//   - [ErrUnavailable] and the introspect categories ErrUnavailable,
//     ErrASRejectedClient and ErrMalformedResponse: 503 with Retry-After
//     (the authorization server's, else [Config.RetryAfter]) and no challenge.
//
// With [Config.DPoP], a 401 carries two challenges in one WWW-Authenticate
// field, Bearer first, then DPoP with the algs attribute (RFC 9449 §7.1
// and §7.2), for example
//
//	Bearer realm="api", DPoP realm="api", algs="ES256 RS256 PS256 EdDSA"
//
// and the error attributes go into the challenge of the scheme the request
// used; a 400 or 403 carries only that scheme's challenge.
//
// The error_description comes only from an [*Error]'s Description, never
// from error text. Any other error is answered as invalid_token, so that
// a failure in a SuccessHandler hook fails closed; return an [*Error] to
// choose the answer. With [Config.ErrorBody], the body is the one it makes.
//
// Adapters write the result with [Rejection.Write]; an adapter that does
// not answer through an http.ResponseWriter uses its fields.
func (g *Guard) Reject(err error) *Rejection {
	rj := g.reject(err)
	rj.Err = err
	if g.cfg.ErrorBody != nil {
		contentType, body := g.cfg.ErrorBody(rj)
		rj.Body = body
		rj.Header.Del("Content-Type")
		if len(body) > 0 {
			rj.Header.Set("Content-Type", contentType)
		}
	}
	return rj
}

// reject is Reject without the ErrorBody hook.
func (g *Guard) reject(err error) *Rejection {
	var e *Error
	desc := ""
	viaDPoP := false
	kind := classify(err)
	if errors.As(err, &e) {
		desc = e.Description
		viaDPoP = e.viaDPoP
	}
	switch kind {
	case ErrNoToken:
		return g.challenge(http.StatusUnauthorized, "", "", "", false)
	case ErrInvalidRequest:
		return g.challenge(http.StatusBadRequest, "invalid_request", orDefault(desc, "the request is malformed"), "", viaDPoP)
	case ErrInsufficientScope:
		scope := ""
		if e != nil {
			scope = e.Required.String()
		}
		return g.challenge(http.StatusForbidden, "insufficient_scope", orDefault(desc, "the access token lacks the required scope"), scope, viaDPoP)
	case ErrUnavailable:
		wait := introspect.RetryAfterHint(err)
		if wait <= 0 {
			wait = g.cfg.RetryAfter
		}
		h := http.Header{}
		h.Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Type", "application/json")
		return &Rejection{Status: http.StatusServiceUnavailable, Header: h, Body: jsonBody("temporarily_unavailable", descUnavailable),
			Code: "temporarily_unavailable", Description: descUnavailable}
	case ErrInvalidToken:
		return g.challenge(http.StatusUnauthorized, "invalid_token", orDefault(desc, "the access token is not valid"), "", viaDPoP)
	case ErrInvalidDPoPProof:
		return g.challenge(http.StatusUnauthorized, "invalid_dpop_proof", orDefault(desc, "the DPoP proof is invalid"), "", true)
	default:
		return g.challenge(http.StatusUnauthorized, "invalid_token", "the access token was rejected", "", viaDPoP)
	}
}

// classify returns the category of err: the Kind of the outermost [*Error],
// else the first sentinel it matches (rs's, then introspect's), else nil.
func classify(err error) error {
	var e *Error
	if errors.As(err, &e) && e.Kind != nil {
		return e.Kind
	}
	for _, kind := range []error{ErrNoToken, ErrInvalidRequest, ErrInsufficientScope, ErrInvalidToken, ErrInvalidDPoPProof, ErrUnavailable} {
		if errors.Is(err, kind) {
			return kind
		}
	}
	switch {
	case errors.Is(err, introspect.ErrInactive):
		return ErrInvalidToken
	case errors.Is(err, introspect.ErrUnavailable), errors.Is(err, introspect.ErrASRejectedClient), errors.Is(err, introspect.ErrMalformedResponse):
		return ErrUnavailable
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// challenge builds the Bearer challenge (RFC 6750 §3, RFC 7235 §2.1), and
// with DPoP accepted the DPoP one (RFC 9449 §7.1), and the body. The error
// attributes go into the DPoP challenge if viaDPoP, else into the Bearer
// one; a status other than 401 carries only the challenge with the error.
func (g *Guard) challenge(status int, code, desc, scope string, viaDPoP bool) *Rejection {
	desc = sanitizeDescription(desc)
	viaDPoP = viaDPoP && g.cfg.DPoP != nil
	var b strings.Builder
	var sep string
	param := func(name, value string) {
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteString(`="`)
		writeQuoted(&b, value)
		b.WriteByte('"')
		sep = ", "
	}
	scheme := func(name string, withError bool) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(name)
		sep = " "
		param("realm", g.cfg.Realm) // never empty: New defaults it
		if withError && code != "" {
			param("error", code)
			if desc != "" {
				param("error_description", desc)
			}
			if scope != "" {
				param("scope", scope)
			}
		}
		if name == "DPoP" {
			param("algs", g.dpopAlgs)
		}
		if g.cfg.ResourceMetadataURL != "" {
			param("resource_metadata", g.cfg.ResourceMetadataURL)
		}
	}
	both := g.cfg.DPoP != nil && status == http.StatusUnauthorized
	if !viaDPoP || both {
		scheme("Bearer", !viaDPoP)
	}
	if viaDPoP || both {
		scheme("DPoP", viaDPoP)
	}
	h := http.Header{}
	h.Set("WWW-Authenticate", b.String())
	h.Set("Cache-Control", "no-store")
	rj := &Rejection{Status: status, Header: h, Code: code, Description: desc}
	if code != "" {
		h.Set("Content-Type", "application/json")
		rj.Body = jsonBody(code, desc)
	}
	return rj
}

func jsonBody(code, desc string) []byte {
	b, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{code, desc})
	return b
}

// writeQuoted writes s as the inside of an RFC 7235 quoted-string: '"' and
// '\' are escaped with a backslash; control characters other than HTAB,
// which a quoted-string cannot carry, are dropped.
func writeQuoted(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t' || (c >= 0x20 && c != 0x7f):
			b.WriteByte(c)
		}
	}
}

// sanitizeDescription keeps the characters RFC 6750 §3 allows in
// error_description: %x20-21 / %x23-5B / %x5D-7E.
func sanitizeDescription(s string) string {
	ok := true
	for i := 0; i < len(s) && ok; i++ {
		ok = isDescChar(s[i])
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isDescChar(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func isDescChar(c byte) bool {
	return c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)
}

// isQuotable reports whether s is printable ASCII (with SP and HTAB), which
// is what a challenge attribute may carry once quoted.
func isQuotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\t' && (c < 0x20 || c >= 0x7f) {
			return false
		}
	}
	return true
}
