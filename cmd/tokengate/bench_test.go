package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/internal/httpserver"
)

// BenchmarkDemo measures the demo's three HTTP paths over loopback, with
// the SQLite store: the token endpoint (a write), the introspection
// endpoint (a read), and GET /api/orders with a cached verdict (the
// resource-server fast path, the AS not involved).
func BenchmarkDemo(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	d, err := startDemo(ctx, demoConfig{asAddr: "127.0.0.1:0", apiAddr: "127.0.0.1:0", dir: b.TempDir(), logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	defer d.close()
	served := make(chan error, 1)
	go func() { served <- httpserver.Serve(ctx, logger, d.servers...) }()
	defer func() { cancel(); <-served }()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	post := func(b *testing.B, u, id, secret string, form url.Values) []byte {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %s", u, resp.StatusCode, body)
		}
		return body
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(post(b, d.tokenURL, d.appID, d.appSecret, url.Values{"grant_type": {"client_credentials"}}), &tok)

	b.Run("token", func(b *testing.B) {
		for b.Loop() {
			post(b, d.tokenURL, d.appID, d.appSecret, url.Values{"grant_type": {"client_credentials"}})
		}
	})
	b.Run("introspect", func(b *testing.B) {
		for b.Loop() {
			post(b, d.introspectionURL, d.rsID, d.rsSecret, url.Values{"token": {tok.AccessToken}})
		}
	})
	b.Run("api-cached", func(b *testing.B) {
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodGet, d.apiURL+"/api/orders", nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("GET /api/orders: %d", resp.StatusCode)
			}
		}
	})
}
