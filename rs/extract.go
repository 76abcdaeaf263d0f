package rs

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// MaxTokenLength is the longest access token accepted, in bytes. A longer
// one is rejected as invalid_request before any network call.
const MaxTokenLength = 16 << 10

// DefaultMaxFormBytes is how much of a form body [FromForm] reads when
// given zero.
const DefaultMaxFormBytes = 64 << 10

// Extractor is one more way for a request to carry its access token, tried
// by the guard after the Authorization header (RFC 6750 §2.1), which is
// always read. [FromForm] and [FromQuery] are the other two ways RFC 6750
// defines; a literal Extractor adds one of your own, such as a cookie.
type Extractor struct {
	// Method names this way in the RFC 9728 bearer_methods_supported
	// metadata: "body" or "query". Empty means a way RFC 9728 has no name
	// for, such as a cookie, which the metadata then leaves out.
	Method string
	// Extract returns ("", nil) when the request does not carry a token
	// this way, the token when it does, and an error (preferably an
	// [*Error] of kind [ErrInvalidRequest]) when what it found is
	// malformed. It must not keep the token anywhere. Required.
	Extract func(r *http.Request) (string, error)

	err error // a construction error, which New reports
}

// fromHeader reads the RFC 6750 §2.1 Authorization request header:
// "Authorization: Bearer <token>", with the scheme compared
// case-insensitively. An Authorization header with another scheme counts
// as no token. More than one Authorization header, the Bearer scheme
// without a token, or a token that is not an RFC 6750 b64token (spaces,
// commas, non-ASCII, …) is invalid_request.
func fromHeader(r *http.Request) (string, error) {
	tok, _, err := fromAuthorization(r.Header["Authorization"], false)
	return tok, err
}

// fromAuthorization reads vals, the values of the Authorization field, with
// the Bearer scheme, or the DPoP scheme if allowDPoP; viaDPoP reports which.
func fromAuthorization(vals []string, allowDPoP bool) (token string, viaDPoP bool, err error) {
	switch len(vals) { // only the number of values is looked at before the cap
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", false, newError(ErrInvalidRequest, "more than one Authorization header", nil)
	}
	v := strings.Trim(vals[0], " \t")
	i := strings.IndexAny(v, " \t")
	scheme, rest := v, ""
	if i >= 0 {
		scheme, rest = v[:i], v[i:]
	}
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		if rest == "" {
			return "", false, newError(ErrInvalidRequest, "the Bearer scheme carries no token", nil)
		}
		if rest[0] != ' ' {
			return "", false, newError(ErrInvalidRequest, "the Bearer scheme must be followed by a space", nil)
		}
	case allowDPoP && strings.EqualFold(scheme, "DPoP"):
		viaDPoP = true
		if rest == "" {
			return "", true, newError(ErrInvalidRequest, "the DPoP scheme carries no token", nil)
		}
		if rest[0] != ' ' {
			return "", true, newError(ErrInvalidRequest, "the DPoP scheme must be followed by a space", nil)
		}
	default:
		return "", false, nil
	}
	token, err = checkToken(strings.TrimLeft(rest, " "))
	return token, viaDPoP, err
}

// FromQuery returns the RFC 6750 §2.3 extractor: the access_token URI
// query parameter. RFC 6750 says this method SHOULD NOT be used, because
// URLs end up in logs; enable it only when nothing else is possible.
func FromQuery() Extractor {
	return Extractor{Method: "query", Extract: fromQuery}
}

func fromQuery(r *http.Request) (string, error) {
	if r.URL == nil || !mayHoldToken(r.URL.RawQuery) {
		return "", nil
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", newError(ErrInvalidRequest, "the query string is malformed", nil)
	}
	return oneParam(q)
}

// FromForm returns the RFC 6750 §2.2 extractor: the access_token parameter
// of an application/x-www-form-urlencoded POST body. It reads at most
// maxBytes of the body (a larger body is invalid_request) and puts the body
// back, so the handler reads it unchanged. Zero means
// [DefaultMaxFormBytes]; a negative maxBytes makes [New] fail.
func FromForm(maxBytes int64) Extractor {
	if maxBytes < 0 {
		return Extractor{Method: "body", err: fmt.Errorf("FromForm: maxBytes is negative (%d)", maxBytes)}
	}
	if maxBytes == 0 {
		maxBytes = DefaultMaxFormBytes
	}
	return Extractor{Method: "body", Extract: func(r *http.Request) (string, error) {
		if r.Method != http.MethodPost || r.Body == nil || r.Body == http.NoBody {
			return "", nil
		}
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return "", nil
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
		r.Body = restoredBody{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		if err != nil {
			return "", newError(ErrInvalidRequest, "the request body could not be read", err)
		}
		if int64(len(body)) > maxBytes {
			return "", newError(ErrInvalidRequest, "the request body is too large to look for an access token", nil)
		}
		if !mayHoldToken(string(body)) {
			return "", nil
		}
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return "", newError(ErrInvalidRequest, "the form body is malformed", nil)
		}
		return oneParam(q)
	}}
}

// mayHoldToken reports whether a form-encoded string may carry an
// access_token parameter: its name spelt out, or some percent-encoding,
// which could spell it too ("access%5Ftoken"). Anything else is not worth
// parsing.
func mayHoldToken(s string) bool {
	return strings.Contains(s, "access_token") || strings.IndexByte(s, '%') >= 0
}

// restoredBody replays what was read, then the rest, and closes the original.
type restoredBody struct {
	io.Reader
	io.Closer
}

func oneParam(q url.Values) (string, error) {
	vals := q["access_token"]
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
		if vals[0] == "" {
			return "", newError(ErrInvalidRequest, "the access_token parameter is empty", nil)
		}
		return checkToken(vals[0])
	default:
		return "", newError(ErrInvalidRequest, "more than one access_token parameter", nil)
	}
}

// checkToken accepts an RFC 6750 §2.1 b64token:
//
//	b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
func checkToken(tok string) (string, error) {
	if tok == "" {
		return "", newError(ErrInvalidRequest, "the Bearer scheme carries no token", nil)
	}
	if len(tok) > MaxTokenLength {
		return "", newError(ErrInvalidRequest, "the access token is too long", nil)
	}
	end := len(tok)
	for end > 0 && tok[end-1] == '=' {
		end--
	}
	if end == 0 {
		return "", newError(ErrInvalidRequest, "the access token is not a b64token", nil)
	}
	for i := 0; i < end; i++ {
		if !isB64TokenChar(tok[i]) {
			return "", newError(ErrInvalidRequest, "the access token is not a b64token", nil)
		}
	}
	return tok, nil
}

func isB64TokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
}

// isVisible reports whether s is non-empty printable ASCII without spaces
// (RFC 6749 VSCHAR minus SP): the least every token must be, whatever
// extractor found it.
func isVisible(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// extract runs every extractor and insists that at most one finds a token.
func (g *Guard) extract(r *http.Request) (string, error) {
	var token string
	for _, ex := range g.extractors {
		t, err := ex.Extract(r)
		if err != nil {
			return "", asInvalidRequest(err)
		}
		if t == "" {
			continue
		}
		if token != "" {
			return "", newError(ErrInvalidRequest, "the access token was sent by more than one method", nil)
		}
		token = t
	}
	if token != "" && (len(token) > MaxTokenLength || !isVisible(token)) {
		return "", newError(ErrInvalidRequest, "the access token has invalid characters or is too long", nil)
	}
	return token, nil
}

func asInvalidRequest(err error) error {
	if e, ok := err.(*Error); ok && e.Kind == ErrInvalidRequest {
		return e
	}
	return newError(ErrInvalidRequest, "the access token could not be read from the request", err)
}
