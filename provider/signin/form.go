package signin

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"unicode/utf8"
)

// maxFormBytes bounds a form body: a username, a password of at most 1 KiB
// and a few hidden fields fit many times over.
const maxFormBytes = 16 << 10

// errBadForm is any form the pages refuse to read: too large, not
// urlencoded, malformed, a field twice, not UTF-8.
var errBadForm = errors.New("signin: bad form")

// readForm reads a POSTed application/x-www-form-urlencoded body. URL query
// parameters are ignored (a password must not travel in a URL). A field sent
// twice, or a value that is not UTF-8, makes the whole form bad: which of
// two values counts would be up to each reader.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errBadForm
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		return nil, errBadForm
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errBadForm
	}
	for k, vs := range form {
		if len(vs) > 1 || !utf8.ValidString(k) || !utf8.ValidString(vs[0]) {
			return nil, errBadForm
		}
	}
	return form, nil
}
