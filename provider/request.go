package provider

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
)

// readForm reads the application/x-www-form-urlencoded body of a POST to one
// of the endpoints. Parameters in the URL query are ignored: credentials and
// tokens must not travel in URLs. A parameter sent twice is refused (RFC 6749
// §3.1), except those named in multi (RFC 8707 allows several "resource").
func (p *Provider) readForm(w http.ResponseWriter, r *http.Request, multi ...string) (url.Values, *oauthError) {
	if r.Method != http.MethodPost {
		return nil, &oauthError{status: http.StatusMethodNotAllowed, code: "invalid_request", description: "use POST"}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errInvalidRequest("the body must be application/x-www-form-urlencoded")
	}
	body, oerr := readBounded(w, r, p.cfg.MaxBodyBytes)
	if oerr != nil {
		return nil, oerr
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errInvalidRequest("malformed form body")
	}
	for k, v := range form {
		if len(v) > 1 && !slices.Contains(multi, k) {
			return nil, errInvalidRequest("parameter " + truncate(k, 40) + " appears more than once")
		}
	}
	return form, nil
}

// readBounded reads a request body of at most limit bytes.
func readBounded(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *oauthError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &oauthError{status: http.StatusRequestEntityTooLarge, code: "invalid_request", description: "request body too large"}
		}
		return nil, errInvalidRequest("could not read the body")
	}
	return body, nil
}

// truncate caps attacker-supplied text echoed in error descriptions; it
// also drops characters RFC 6749 §5.2 does not allow there.
func truncate(s string, n int) string {
	out := make([]byte, 0, n)
	for i := 0; i < len(s) && len(out) < n; i++ {
		c := s[i]
		if c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E) {
			out = append(out, c)
		} else {
			out = append(out, '?')
		}
	}
	return string(out)
}
