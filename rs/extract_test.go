package rs_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// req builds a request for the extraction table.
type req struct {
	method, target, contentType, body string
	authorization                     []string
}

func (q req) build() *http.Request {
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	m := q.method
	if m == "" {
		m = "GET"
	}
	target := q.target
	if target == "" {
		target = "/orders"
	}
	r := httptest.NewRequest(m, target, body)
	if q.contentType != "" {
		r.Header.Set("Content-Type", q.contentType)
	}
	for _, a := range q.authorization {
		r.Header.Add("Authorization", a)
	}
	return r
}

const formCT = "application/x-www-form-urlencoded"

func TestExtraction(t *testing.T) {
	tests := []struct {
		name       string
		form       bool           // FromForm(0) among the extractors
		query      bool           // FromQuery() among the extractors
		extractors []rs.Extractor // more, after those
		req        req
		kind       error // nil: accepted as alice
	}{
		{name: "header", req: req{authorization: []string{"Bearer good"}}},
		{name: "nothing", req: req{}, kind: rs.ErrNoToken},
		{name: "query disabled", req: req{target: "/orders?access_token=good"}, kind: rs.ErrNoToken},
		{name: "query enabled", query: true, req: req{target: "/orders?access_token=good"}},
		{name: "query twice", query: true, req: req{target: "/orders?access_token=good&access_token=good"}, kind: rs.ErrInvalidRequest},
		{name: "query empty", query: true, req: req{target: "/orders?access_token="}, kind: rs.ErrInvalidRequest},
		{name: "query with space", query: true, req: req{target: "/orders?access_token=go+od"}, kind: rs.ErrInvalidRequest},
		{name: "query malformed", query: true, req: req{target: "/orders?access_token=%zz"}, kind: rs.ErrInvalidRequest},
		{name: "query and header", query: true, req: req{target: "/orders?access_token=good", authorization: []string{"Bearer good"}}, kind: rs.ErrInvalidRequest},
		// The name is percent-encoded: it is still access_token (RFC 3986
		// §2.1), so it counts, alone or beside another method.
		{name: "query with encoded name", query: true, req: req{target: "/orders?access%5Ftoken=good"}},
		{name: "query with encoded name and header", query: true, req: req{target: "/orders?%61ccess_token=good", authorization: []string{"Bearer good"}}, kind: rs.ErrInvalidRequest},
		{name: "form with encoded name", form: true, req: req{method: "POST", contentType: formCT, body: "access%5Ftoken=good"}},
		{name: "form with encoded name and header", form: true, req: req{method: "POST", contentType: formCT, body: "access%5ftoken=good", authorization: []string{"Bearer good"}}, kind: rs.ErrInvalidRequest},
		{name: "other query params", query: true, req: req{target: "/orders?page=2", authorization: []string{"Bearer good"}}},
		{name: "form disabled", req: req{method: "POST", contentType: formCT, body: "access_token=good"}, kind: rs.ErrNoToken},
		{name: "form enabled", form: true, req: req{method: "POST", contentType: formCT, body: "item=1&access_token=good"}},
		{name: "form with charset", form: true, req: req{method: "POST", contentType: formCT + "; charset=utf-8", body: "access_token=good"}},
		{name: "form on GET ignored", form: true, req: req{method: "GET", contentType: formCT, body: "access_token=good"}, kind: rs.ErrNoToken},
		{name: "form on PUT ignored", form: true, req: req{method: "PUT", contentType: formCT, body: "access_token=good"}, kind: rs.ErrNoToken},
		{name: "json body ignored", form: true, req: req{method: "POST", contentType: "application/json", body: `{"access_token":"good"}`}, kind: rs.ErrNoToken},
		{name: "form twice", form: true, req: req{method: "POST", contentType: formCT, body: "access_token=good&access_token=x"}, kind: rs.ErrInvalidRequest},
		{name: "form and header", form: true, req: req{method: "POST", contentType: formCT, body: "access_token=good", authorization: []string{"Bearer good"}}, kind: rs.ErrInvalidRequest},
		{name: "form too large", form: true, req: req{method: "POST", contentType: formCT, body: "x=" + strings.Repeat("a", rs.DefaultMaxFormBytes)}, kind: rs.ErrInvalidRequest},
		{name: "form without token, header", form: true, req: req{method: "POST", contentType: formCT, body: "item=1", authorization: []string{"Bearer good"}}},
		{name: "form and query", form: true, query: true, req: req{method: "POST", target: "/orders?access_token=good", contentType: formCT, body: "access_token=good"}, kind: rs.ErrInvalidRequest},
		{
			name: "custom extractor", extractors: []rs.Extractor{{Extract: cookieExtractor}},
			req: req{authorization: nil}, kind: rs.ErrNoToken,
		},
		{
			name: "custom extractor error", extractors: []rs.Extractor{{Extract: func(*http.Request) (string, error) { return "", errors.New("boom") }}},
			req: req{authorization: []string{"Bearer good"}}, kind: rs.ErrInvalidRequest,
		},
		{
			name: "custom extractor with a space", extractors: []rs.Extractor{{Extract: func(*http.Request) (string, error) { return "go od", nil }}},
			req: req{}, kind: rs.ErrInvalidRequest,
		},
		{
			name: "custom extractor and header", extractors: []rs.Extractor{{Extract: func(*http.Request) (string, error) { return "good", nil }}},
			req: req{authorization: []string{"Bearer good"}}, kind: rs.ErrInvalidRequest,
		},
		{
			name: "custom extractor alone", extractors: []rs.Extractor{{Extract: func(*http.Request) (string, error) { return "good", nil }}},
			req: req{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGuard(t, func(c *rs.Config) {
				if tt.form {
					c.Extractors = append(c.Extractors, rs.FromForm(0))
				}
				if tt.query {
					c.Extractors = append(c.Extractors, rs.FromQuery())
				}
				c.Extractors = append(c.Extractors, tt.extractors...)
			})
			p, err := g.Check(tt.req.build(), scopes.Requirement{})
			if tt.kind == nil {
				if err != nil || p == nil || p.Subject != "alice" {
					t.Fatalf("Check = %v, %v", p, err)
				}
				return
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want %v", err, tt.kind)
			}
		})
	}
}

func cookieExtractor(r *http.Request) (string, error) {
	c, err := r.Cookie("at")
	if err != nil {
		return "", nil
	}
	return c.Value, nil
}

func TestFormBodyIsRestored(t *testing.T) {
	g := newGuard(t, func(c *rs.Config) { c.Extractors = []rs.Extractor{rs.FromForm(100)} })
	body := "item=42&access_token=good&note=" + url.QueryEscape("a b")
	r := req{method: "POST", contentType: formCT, body: body}.build()
	if _, err := g.Check(r, scopes.Requirement{}); err != nil {
		t.Fatal(err)
	}
	if err := r.ParseForm(); err != nil {
		t.Fatal(err)
	}
	if r.PostForm.Get("item") != "42" || r.PostForm.Get("note") != "a b" {
		t.Errorf("handler sees form %v", r.PostForm)
	}

	// A body read error is invalid_request, and the body is still closable.
	r = req{method: "POST", contentType: formCT}.build()
	r.Body = io.NopCloser(errReader{})
	if _, err := g.Check(r, scopes.Requirement{}); !errors.Is(err, rs.ErrInvalidRequest) {
		t.Errorf("read error: %v", err)
	}
	if err := r.Body.Close(); err != nil {
		t.Error(err)
	}

	// Exactly at the limit is fine, and a larger body is still readable whole.
	exact := "access_token=good&x=" + strings.Repeat("a", 100-len("access_token=good&x="))
	r = req{method: "POST", contentType: formCT, body: exact}.build()
	if _, err := g.Check(r, scopes.Requirement{}); err != nil {
		t.Errorf("body at the limit: %v", err)
	}
	big := exact + "b"
	r = req{method: "POST", contentType: formCT, body: big, authorization: []string{"Bearer good"}}.build()
	if _, err := g.Check(r, scopes.Requirement{}); !errors.Is(err, rs.ErrInvalidRequest) {
		t.Errorf("body over the limit: %v", err)
	}
	if b, _ := io.ReadAll(r.Body); string(b) != big {
		t.Errorf("body after rejection is %d bytes, want %d", len(b), len(big))
	}
}

func TestOneMegabyteHeaderThroughServer(t *testing.T) {
	g := newGuard(t, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := g.Check(r, scopes.Requirement{}); err != nil {
			g.Reject(err).Write(w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	r, _ := http.NewRequest("GET", srv.URL, nil)
	r.Header.Set("Authorization", "Bearer "+strings.Repeat("A", 1<<20))
	resp, err := srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// net/http's 1 MB header limit answers 431 first; either way, no pass.
	if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status = %d", resp.StatusCode)
	}
}

// FuzzCheck drives the whole extraction (header, form body and query, all
// enabled) with arbitrary input: no panic, every rejection an *rs.Error of
// a request-level kind answered with 400 or 401, and the body always given
// back to the handler unchanged.
func FuzzCheck(f *testing.F) {
	g := newGuard(f, func(c *rs.Config) { c.Extractors = []rs.Extractor{rs.FromForm(0), rs.FromQuery()} })
	f.Fuzz(func(t *testing.T, auth, query, body string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", formCT)
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
		}
		p, err := g.Check(r, scopes.Requirement{})
		if rest, _ := io.ReadAll(r.Body); string(rest) != body {
			t.Fatalf("body changed: %q -> %q", body, rest)
		}
		if err == nil {
			if p == nil || p.Subject != "alice" {
				t.Fatalf("accepted without the right principal: %+v", p)
			}
			return
		}
		var e *rs.Error
		if !errors.As(err, &e) {
			t.Fatalf("%T is not an *rs.Error", err)
		}
		switch e.Kind {
		case rs.ErrNoToken, rs.ErrInvalidRequest, rs.ErrInvalidToken:
		default:
			t.Fatalf("unexpected kind %v", e.Kind)
		}
		rej := g.Reject(err)
		if rej.Status != 400 && rej.Status != 401 {
			t.Fatalf("status %d", rej.Status)
		}
		if strings.ContainsAny(rej.Header.Get("WWW-Authenticate"), "\r\n") {
			t.Fatalf("header injection: %q", rej.Header.Get("WWW-Authenticate"))
		}
	})
}
