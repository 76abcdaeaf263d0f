package provider_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/sqlite"
)

type benchEnv struct {
	p              *provider.Provider
	srv            *httptest.Server
	app, rs        registered
	tokenAuth      string
	introspectAuth string
	introspectBody string
	tokenBody      string
}

func newBenchEnv(b *testing.B, st store.Store) *benchEnv {
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	p, err := provider.New(provider.Config{Issuer: srv.URL, Store: st, KeyAlgorithms: []string{provider.AlgES256},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	srv.Config.Handler = p
	ctx := context.Background()
	app, appSecret, _ := p.Admin().RegisterClient(ctx, provider.ClientSpec{Scopes: []string{"read"}, Resources: []string{"https://api.example/"}})
	rs, rsSecret, _ := p.Admin().RegisterClient(ctx, provider.ClientSpec{Resources: []string{"https://api.example/"}, Introspection: store.IntrospectOwnAudience})
	// A store with some history: 10,000 tokens besides the one introspected.
	for range 10000 {
		if _, err := p.Mint(ctx, provider.MintRequest{ClientID: app.ID, Scopes: []string{"read"}}); err != nil {
			b.Fatal(err)
		}
	}
	tok, _ := p.Mint(ctx, provider.MintRequest{ClientID: app.ID, Scopes: []string{"read"}})
	return &benchEnv{
		p: p, srv: srv,
		app:            registered{id: app.ID, secret: appSecret},
		rs:             registered{id: rs.ID, secret: rsSecret},
		tokenAuth:      basicHeader(app.ID, appSecret),
		introspectAuth: basicHeader(rs.ID, rsSecret),
		introspectBody: "token=" + tok,
		tokenBody:      "grant_type=client_credentials&scope=read",
	}
}

// benchEnvs caches one environment per store across benchmark rounds, so
// that filling the store is not repeated as b.N grows.
var benchEnvs = map[string]*benchEnv{}

func benchStores(b *testing.B, f func(b *testing.B, e *benchEnv)) {
	for _, name := range []string{"memory", "sqlite"} {
		b.Run(name, func(b *testing.B) {
			e := benchEnvs[name]
			if e == nil {
				var st store.Store = store.NewMemory()
				if name == "sqlite" {
					// Not b.TempDir: the environment outlives this round.
					dir, err := os.MkdirTemp("", "tokengate-bench")
					if err != nil {
						b.Fatal(err)
					}
					if st, err = sqlite.Open(sqlite.Config{Path: filepath.Join(dir, "bench.db")}); err != nil {
						b.Fatal(err)
					}
				}
				e = newBenchEnv(b, st)
				benchEnvs[name] = e
			}
			f(b, e)
		})
	}
}

// post sends one request over loopback HTTP and checks the answer.
func (e *benchEnv) post(b *testing.B, client *http.Client, path, auth, body, want string) {
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", auth)
	res, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(got), want) {
		b.Fatalf("%s: %d %s", path, res.StatusCode, got)
	}
}

func runHTTP(b *testing.B, e *benchEnv, path, auth, body, want string) {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	b.SetParallelism(8) // 16 concurrent clients on 2 cores
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.post(b, client, path, auth, body, want)
		}
	})
	report(b, start, cpu0)
}

func runHandler(b *testing.B, e *benchEnv, path, auth, body, want string) {
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Authorization", auth)
			w := httptest.NewRecorder()
			e.p.ServeHTTP(w, r)
			if w.Code != 200 || !strings.Contains(w.Body.String(), want) {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
	})
	report(b, start, cpu0)
}

// runRaw drives the server over loopback TCP with keep-alive connections and
// pre-built HTTP/1.1 requests, as wrk does, so that little of the 2 cores
// goes to the load generator (net/http's client costs about as much CPU as
// the server).
func runRaw(b *testing.B, e *benchEnv, path, auth, body, want string) {
	host := strings.TrimPrefix(e.srv.URL, "http://")
	request := []byte("POST " + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: " + auth +
		"\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	b.SetParallelism(8) // 16 connections on 2 cores
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		br := bufio.NewReaderSize(conn, 8192)
		buf := make([]byte, 8192)
		for pb.Next() {
			if _, err := conn.Write(request); err != nil {
				b.Error(err)
				return
			}
			status, err := br.ReadSlice('\n')
			if err != nil || !bytes.HasPrefix(status, []byte("HTTP/1.1 200")) {
				b.Errorf("status %q %v", status, err)
				return
			}
			n := -1
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					b.Error(err)
					return
				}
				if len(line) <= 2 {
					break
				}
				if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
					n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
				}
			}
			if n < 0 || n > len(buf) {
				b.Errorf("Content-Length %d", n)
				return
			}
			if _, err := io.ReadFull(br, buf[:n]); err != nil {
				b.Error(err)
				return
			}
			if !bytes.Contains(buf[:n], []byte(want)) {
				b.Errorf("body %q", buf[:n])
				return
			}
		}
	})
	report(b, start, cpu0)
}

// BenchmarkIntrospectionRaw measures the introspection endpoint over
// loopback TCP with a minimal load generator (see runRaw).
func BenchmarkIntrospectionRaw(b *testing.B) {
	benchStores(b, func(b *testing.B, e *benchEnv) {
		runRaw(b, e, "/introspect", e.introspectAuth, e.introspectBody, `"active":true`)
	})
}

// BenchmarkTokenRaw measures the token endpoint like
// BenchmarkIntrospectionRaw.
func BenchmarkTokenRaw(b *testing.B) {
	benchStores(b, func(b *testing.B, e *benchEnv) {
		runRaw(b, e, "/token", e.tokenAuth, e.tokenBody, "access_token")
	})
}

// BenchmarkIntrospection measures the introspection endpoint over loopback
// HTTP (client and server in this process) with 16 concurrent callers.
func BenchmarkIntrospection(b *testing.B) {
	benchStores(b, func(b *testing.B, e *benchEnv) {
		runHTTP(b, e, "/introspect", e.introspectAuth, e.introspectBody, `"active":true`)
	})
}

// BenchmarkIntrospectionHandler calls ServeHTTP directly: the provider's own
// cost without the HTTP stack.
func BenchmarkIntrospectionHandler(b *testing.B) {
	benchStores(b, func(b *testing.B, e *benchEnv) {
		runHandler(b, e, "/introspect", e.introspectAuth, e.introspectBody, `"active":true`)
	})
}

// BenchmarkToken measures the token endpoint (client credentials, opaque
// tokens) over loopback HTTP.
func BenchmarkToken(b *testing.B) {
	benchStores(b, func(b *testing.B, e *benchEnv) {
		runHTTP(b, e, "/token", e.tokenAuth, e.tokenBody, "access_token")
	})
}

// BenchmarkTokenHandler calls ServeHTTP directly.
func BenchmarkTokenHandler(b *testing.B) {
	benchStores(b, func(b *testing.B, e *benchEnv) {
		runHandler(b, e, "/token", e.tokenAuth, e.tokenBody, "access_token")
	})
}

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report adds req/s (wall clock, sensitive to other load on the machine)
// and CPU per request, with the throughput two dedicated cores would give
// at that cost: the figure that survives a shared machine.
func report(b *testing.B, start time.Time, cpu0 time.Duration) {
	wall, cpu := time.Since(start), cpuTime()-cpu0
	b.ReportMetric(float64(b.N)/wall.Seconds(), "req/s")
	perOp := float64(cpu.Microseconds()) / float64(b.N)
	b.ReportMetric(perOp, "cpu-µs/op")
	b.ReportMetric(2e6/perOp, "req/s@2cpu")
}
