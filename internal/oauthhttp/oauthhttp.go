package oauthhttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrTooLarge means a response body was longer than the cap it was read with.
var ErrTooLarge = errors.New("oauthhttp: response body too large")

// DefaultMaxBytes is the body cap used when a Request gives none (1 MiB).
const DefaultMaxBytes = 1 << 20

// MaxErrorBody is how much of an unsuccessful answer's body is kept in
// [Response.Body] when the status is not 200 and the body was longer.
const MaxErrorBody = 512

// Request is one form POST.
type Request struct {
	// URL is the endpoint.
	URL string
	// Form is the body, sent as application/x-www-form-urlencoded.
	Form url.Values
	// Accept is the Accept header. Defaults to application/json.
	Accept string
	// Authorization, if not empty, is the Authorization header value.
	Authorization string
	// MaxBytes caps the body read. Defaults to DefaultMaxBytes.
	MaxBytes int64
}

// Response is the answer to a [Request].
type Response struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Header is the response header.
	Header http.Header
	// Body is the body, read up to the cap. For a 200 answer over the cap,
	// PostForm returns ErrTooLarge instead; for any other status the body is
	// truncated silently, since it is only used to describe the failure.
	Body []byte
}

// ContentType returns the media type of the response, lower-cased and
// without parameters, or "" if absent or unparsable.
func (r *Response) ContentType() string {
	return MediaType(r.Header.Get("Content-Type"))
}

// MediaType returns the media type of a Content-Type value, lower-cased and
// without parameters, or "" if v is empty or unparsable.
func MediaType(v string) string {
	if v == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return ""
	}
	return mt
}

// IsJSON reports whether the media type mt is application/json or a
// structured +json type (RFC 6839).
func IsJSON(mt string) bool {
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// PostForm sends r with client and reads the answer. It returns an error only
// when no complete answer was received (the error then wraps the transport
// or context error) or when a 200 body exceeds r.MaxBytes ([ErrTooLarge]).
func PostForm(ctx context.Context, client *http.Client, r Request) (*Response, error) {
	if client == nil {
		client = http.DefaultClient
	}
	max := r.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	accept := r.Accept
	if accept == "" {
		accept = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, strings.NewReader(r.Form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", accept)
	if r.Authorization != "" {
		req.Header.Set("Authorization", r.Authorization)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := ReadBody(resp.Body, max)
	out := &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}
	if errors.Is(err, ErrTooLarge) && resp.StatusCode != http.StatusOK {
		out.Body = body[:min(len(body), MaxErrorBody)]
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadBody reads r up to max bytes. If r holds more, it returns what it read
// (max bytes) and [ErrTooLarge]; it never reads more than max+1 bytes.
func ReadBody(r io.Reader, max int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return body, err
	}
	if int64(len(body)) > max {
		return body[:max], fmt.Errorf("%w (more than %d bytes)", ErrTooLarge, max)
	}
	return body, nil
}

// BasicAuth returns the Authorization header value for client_secret_basic:
// RFC 6749 §2.3.1 requires the client id and secret to be encoded with
// application/x-www-form-urlencoded before they are joined with ":" and
// base64-encoded, so that a ":" or non-ASCII character survives.
func BasicAuth(clientID, clientSecret string) string {
	raw := url.QueryEscape(clientID) + ":" + url.QueryEscape(clientSecret)
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(raw))
}

// Bearer returns the Authorization header value for a bearer token.
func Bearer(token string) string { return "Bearer " + token }

// ErrorBody holds the RFC 6749 §5.2 members of an error answer.
type ErrorBody struct {
	// Code is the "error" member, e.g. invalid_client; "" if absent.
	Code string `json:"error"`
	// Description is the "error_description" member; "" if absent.
	Description string `json:"error_description"`
	// URI is the "error_uri" member; "" if absent.
	URI string `json:"error_uri"`
}

// maxMember bounds each error member kept, so that a hostile body cannot make
// log lines arbitrarily long.
const maxMember = 256

// DecodeError decodes the RFC 6749 §5.2 members of body, best effort: a body
// that is not a JSON object, or members that are not strings, yield empty
// fields. Members are truncated to 256 bytes and must be valid UTF-8.
func DecodeError(body []byte) ErrorBody {
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		return ErrorBody{}
	}
	member := func(name string) string {
		var s string
		if json.Unmarshal(raw[name], &s) != nil || !utf8.ValidString(s) {
			return ""
		}
		return truncate(s, maxMember)
	}
	return ErrorBody{Code: member("error"), Description: member("error_description"), URI: member("error_uri")}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// TruncateBody returns a copy of the first n bytes of body, for keeping in
// an error without pinning a large buffer.
func TruncateBody(body []byte, n int) []byte {
	return bytes.Clone(body[:min(len(body), n)])
}

// maxRetryAfter bounds a parsed Retry-After, so that a hostile or broken
// server cannot tell callers to wait for days.
const maxRetryAfter = time.Hour

// ParseRetryAfter parses a Retry-After value (RFC 9110 §10.2.3): either
// delay-seconds or an HTTP-date, relative to now. It returns zero for an
// absent, invalid or past value, and caps the result at one hour.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
