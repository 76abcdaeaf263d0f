package httpserver_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/httpserver"
)

func TestNewSetsEveryLimit(t *testing.T) {
	s := httpserver.New(http.NotFoundHandler(), slog.New(slog.DiscardHandler))
	for name, v := range map[string]time.Duration{
		"ReadHeaderTimeout": s.ReadHeaderTimeout, "ReadTimeout": s.ReadTimeout,
		"WriteTimeout": s.WriteTimeout, "IdleTimeout": s.IdleTimeout,
	} {
		if v <= 0 {
			t.Errorf("%s = %v, want a bound", name, v)
		}
	}
	if s.MaxHeaderBytes != httpserver.MaxHeaderBytes || s.ErrorLog == nil {
		t.Errorf("MaxHeaderBytes %d, ErrorLog %v", s.MaxHeaderBytes, s.ErrorLog)
	}
}

// serve runs Serve on a loopback listener and returns the server's base
// URL and a function that stops it and returns Serve's result; the test's
// end stops it too.
func serve(t *testing.T, h http.Handler) (url string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- httpserver.Serve(ctx, slog.New(slog.DiscardHandler), httpserver.Server{Listener: ln, Handler: h})
	}()
	var once sync.Once
	var served error
	stop = func() error {
		once.Do(func() { cancel(); served = <-done })
		return served
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	})
	return "http://" + ln.Addr().String(), stop
}

func TestServeRefusesOversizedHeaders(t *testing.T) {
	url, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	for _, tt := range []struct {
		name string
		size int
		want int
	}{
		{"a large JWT passes", 16 << 10, http.StatusOK},
		{"beyond the limit", httpserver.MaxHeaderBytes + 4096, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+strings.Repeat("a", tt.size))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Errorf("status %d, want %d", res.StatusCode, tt.want)
			}
		})
	}
}

func TestServeLetsRequestsInFlightFinish(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	url, stop := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	}))
	got := make(chan string, 1)
	go func() {
		res, err := http.Get(url)
		if err != nil {
			got <- err.Error()
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		got <- string(b)
	}()
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if body := <-got; body != "finished" {
		t.Errorf("the request in flight got %q", body)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestServeReturnsAFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // Serve on a closed listener fails at once
	err = httpserver.Serve(context.Background(), slog.New(slog.DiscardHandler), httpserver.Server{Listener: ln, Handler: http.NotFoundHandler()})
	if err == nil {
		t.Fatal("Serve on a closed listener returned nil")
	}
}
