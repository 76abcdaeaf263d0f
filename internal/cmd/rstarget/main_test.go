package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/loadtarget"
)

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func TestTarget(t *testing.T) {
	t.Run("opaque", func(t *testing.T) { testTarget(t, false) })
	t.Run("jwt", func(t *testing.T) { testTarget(t, true) })
}

// testTarget checks the target, with an opaque token or a JWT access token
// (which costs no introspection).
func testTarget(t *testing.T, jwt bool) {
	ctx, cancel := context.WithCancel(context.Background())
	tg, err := newTarget(ctx, "127.0.0.1:0", jwt, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- loadtarget.Serve(ctx, slog.New(slog.DiscardHandler), 0, tg.servers...) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	tests := []struct {
		name, url, token string
		want             int
	}{
		{"unprotected", tg.info.Unprotected, "", http.StatusOK},
		{"protected with the token", tg.info.Protected, tg.info.Token, http.StatusOK},
		{"protected again (cache hit)", tg.info.Protected, tg.info.Token, http.StatusOK},
		{"protected without token", tg.info.Protected, "", http.StatusUnauthorized},
		{"protected with an unknown token", tg.info.Protected, "tg_at_unknown", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, tt.url, tt.token)
			if code != tt.want {
				t.Fatalf("status %d, want %d (%s)", code, tt.want, body)
			}
			if code == http.StatusOK && body != string(ordersJSON) {
				t.Errorf("body %q", body)
			}
		})
	}
	// The token and the unknown one: one introspection each, or only the
	// unknown one when the token is a JWT checked locally.
	want := 2
	if jwt {
		want = 1
		if strings.Count(tg.info.Token, ".") != 2 {
			t.Errorf("token %.20q… is not a JWT", tg.info.Token)
		}
	}
	_, body := get(t, tg.info.Stats, "")
	var stats struct {
		Calls int `json:"as_introspections"`
	}
	if err := json.Unmarshal([]byte(body), &stats); err != nil || stats.Calls != want {
		t.Errorf("stats %q (%v): want %d introspections", body, err, want)
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-info"}, {"-info", "x", "extra"}, {"-nonsense"}} {
		if code := run(context.Background(), args, io.Discard); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
}

func TestRunWritesInfo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	path := filepath.Join(t.TempDir(), "info.json")
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"-info", path, "-exit-after", "0"}, io.Discard) }()
	// run writes the file before serving; wait for it without sleeping on a clock.
	for {
		select {
		case code := <-done:
			t.Fatalf("run exited with %d before writing %s", code, path)
		default:
		}
		if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
			var got info
			if err := json.Unmarshal(data, &got); err != nil || got.Token == "" || got.Protected == "" {
				t.Errorf("info %q: %v", data, err)
			}
			break
		}
		time.Sleep(5 * time.Millisecond) // polling, not a timed assertion
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("run = %d, want 0", code)
	}
}
