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

	"github.com/tokengate/tokengate/internal/loadtarget"
	"github.com/tokengate/tokengate/internal/testserver"
)

// postForm POSTs form to u with client_secret_basic and decodes the JSON answer.
func postForm(t *testing.T, u, id, secret string, form url.Values) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", u, res.StatusCode, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("POST %s: %v: %s", u, err, body)
	}
	return m
}

// TestMain: the postgres target starts a server of its own, which Main's
// template cluster makes quick.
func TestMain(m *testing.M) { testserver.Main(m) }

func TestTarget(t *testing.T) {
	for _, kind := range []string{"memory", "sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			tg, err := newTarget(ctx, config{
				addr: "127.0.0.1:0", storeKind: kind, dir: t.TempDir(), history: 3,
				logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- loadtarget.Serve(ctx, slog.New(slog.DiscardHandler), 0, tg.server) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Error(err)
				}
				tg.close()
			}()
			in := tg.info
			if in.Store != kind {
				t.Errorf("store %q", in.Store)
			}
			tok := postForm(t, in.TokenEndpoint, in.AppID, in.AppSecret,
				url.Values{"grant_type": {"client_credentials"}, "scope": {in.Scope}})
			access, _ := tok["access_token"].(string)
			if access == "" {
				t.Fatalf("no access_token: %v", tok)
			}
			got := postForm(t, in.IntrospectionEndpoint, in.RSID, in.RSSecret, url.Values{"token": {access}})
			if got["active"] != true || got["aud"] != resource || got["scope"] != in.Scope {
				t.Errorf("introspection %v: want active, aud %s, scope %s", got, resource, in.Scope)
			}
			// An unknown token is inactive, and nothing else.
			got = postForm(t, in.IntrospectionEndpoint, in.RSID, in.RSSecret, url.Values{"token": {"tg_at_unknown"}})
			if got["active"] != false || len(got) != 1 {
				t.Errorf("unknown token: %v", got)
			}
		})
	}
}

func TestNewTargetRefusesUnknownStore(t *testing.T) {
	_, err := newTarget(context.Background(), config{addr: "127.0.0.1:0", storeKind: "redis", logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "redis") {
		t.Errorf("err = %v, want one naming the store", err)
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-info"}, {"-info", "x", "extra"}, {"-info", "x", "-history", "-1"}} {
		if code := run(context.Background(), args, io.Discard); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
}
