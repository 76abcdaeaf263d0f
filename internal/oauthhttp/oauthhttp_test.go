package oauthhttp

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestBasicAuth(t *testing.T) {
	tests := []struct {
		name, id, secret, wantRaw string
	}{
		{"plain", "client", "secret", "client:secret"},
		{"colon", "a:b", "c:d", "a%3Ab:c%3Ad"},
		{"percent and plus", "x", "50%+1", "x:50%25%2B1"},
		{"space", "my app", "p w", "my+app:p+w"},
		{"non-ascii", "ü", "€", "%C3%BC:%E2%82%AC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BasicAuth(tt.id, tt.secret)
			want := "Basic " + base64.StdEncoding.EncodeToString([]byte(tt.wantRaw))
			if got != want {
				t.Errorf("BasicAuth = %q, want %q", got, want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want time.Duration
	}{
		{"empty", "", 0},
		{"seconds", "120", 2 * time.Minute},
		{"spaces", " 3 ", 3 * time.Second},
		{"zero", "0", 0},
		{"negative", "-5", 0},
		{"garbage", "soon", 0},
		{"date", now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{"past date", now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"capped", "999999", time.Hour},
		{"overflow", "99999999999999999999", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseRetryAfter(tt.in, now); got != tt.want {
				t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeError(t *testing.T) {
	long := strings.Repeat("x", 1000)
	tests := []struct {
		name string
		body string
		want ErrorBody
	}{
		{"full", `{"error":"invalid_client","error_description":"bad","error_uri":"https://e/x"}`, ErrorBody{"invalid_client", "bad", "https://e/x"}},
		{"not json", `<html>`, ErrorBody{}},
		{"wrong types", `{"error":1,"error_description":["a"]}`, ErrorBody{}},
		{"long", `{"error":"` + long + `"}`, ErrorBody{Code: long[:256]}},
		{"invalid utf-8 replaced", "{\"error\":\"\xff\"}", ErrorBody{Code: "\uFFFD"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecodeError([]byte(tt.body)); got != tt.want {
				t.Errorf("DecodeError = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPostForm(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
			r.Header.Get("Accept") != "application/json" || r.Header.Get("Authorization") != "Bearer x" {
			t.Errorf("bad request: %s %v", r.Method, r.Header)
		}
		r.ParseForm()
		switch r.PostForm.Get("case") {
		case "ok":
			io.WriteString(w, "0123456789")
		case "big-error":
			w.WriteHeader(500)
			io.WriteString(w, strings.Repeat("e", 5000))
		}
	}))
	defer srv.Close()
	post := func(c string, max int64) (*Response, error) {
		return PostForm(context.Background(), srv.Client(), Request{URL: srv.URL, Form: url.Values{"case": {c}}, Authorization: "Bearer x", MaxBytes: max})
	}
	tests := []struct {
		name     string
		c        string
		max      int64
		wantErr  error
		wantBody int
		status   int
	}{
		{"fits", "ok", 10, nil, 10, 200},
		{"too large on 200", "ok", 9, ErrTooLarge, 0, 0},
		{"error body truncated", "big-error", 4096, nil, MaxErrorBody, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := post(tt.c, tt.max)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if res.StatusCode != tt.status || len(res.Body) != tt.wantBody && tt.status == 200 {
				t.Errorf("got %d with %d bytes", res.StatusCode, len(res.Body))
			}
		})
	}
}

func TestReadBody(t *testing.T) {
	b, err := ReadBody(strings.NewReader("abcdef"), 3)
	if !errors.Is(err, ErrTooLarge) || string(b) != "abc" {
		t.Errorf("ReadBody = %q, %v", b, err)
	}
	b, err = ReadBody(strings.NewReader("abc"), 3)
	if err != nil || string(b) != "abc" {
		t.Errorf("ReadBody = %q, %v", b, err)
	}
}

func TestIsJSON(t *testing.T) {
	for mt, want := range map[string]bool{
		"application/json": true, "application/token-introspection+json": true,
		"text/html": false, "": false, "application/jwt": false, "text/json+json": false,
	} {
		if IsJSON(mt) != want {
			t.Errorf("IsJSON(%q) = %v", mt, !want)
		}
	}
	if MediaType("Application/JSON; charset=utf-8") != "application/json" || MediaType("a b") != "" {
		t.Error("MediaType")
	}
}
