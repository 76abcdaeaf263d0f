// Command rstarget is the load target of scripts/loadtest.sh: one handler
// served twice on a loopback port, at /unprotected as it is and at
// /protected behind the net/http middleware (RFC 6750 bearer tokens,
// validated by RFC 7662 introspection through a real introspect.Client
// behind its default verdict cache), so that wrk can measure what the protection
// costs on a warm cache.
//
// The authorization server is the provider, in process (in-memory store), on
// its own loopback port: the cache misses of a run are real HTTP round trips.
// It counts the introspection requests it answers; GET /stats on the API
// port reports them, so a script can check that the cache stayed warm.
//
// Usage:
//
//	rstarget -info FILE [-jwt] [-addr 127.0.0.1:0] [-pprof 127.0.0.1:6060] [-exit-after 15m]
//
// When both ports listen, it writes FILE (mode 0600) with the URLs and a
// token for orders:read:
//
//	{"protected": "http://127.0.0.1:PORT/protected",
//	 "unprotected": "http://127.0.0.1:PORT/unprotected",
//	 "stats": "http://127.0.0.1:PORT/stats",
//	 "issuer": "http://127.0.0.1:PORT2", "token": "tg_at_…"}
//
// With -jwt the token is an RFC 9068 JWT access token, checked locally by
// jwtaccess (keys from the provider's jwks_uri) through a tokenroute.Router
// under the same verdict cache, as TOKENGATE_JWT_ACCESS_TOKENS=local does in
// the examples; opaque tokens would still be introspected.
//
// It serves until SIGINT or SIGTERM, or until -exit-after has passed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/tokengate/tokengate/internal/loadtarget"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtaccess"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
	"github.com/tokengate/tokengate/tokenroute"
)

// resource is the audience of the tokens and the identifier of the API.
const resource = "urn:tokengate:loadtarget"

// ordersJSON is the body of the handler: a small JSON document, like an API
// would answer, written without encoding work so that the handler itself
// costs little and the middleware's share shows.
var ordersJSON = []byte(`{"orders":[{"id":"ord_1001","item":"espresso beans","quantity":2},` +
	`{"id":"ord_1002","item":"burr grinder","quantity":1}]}` + "\n")

func orders(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(ordersJSON)))
	w.Write(ordersJSON)
}

// info is what the target writes to -info.
type info struct {
	Protected   string `json:"protected"`
	Unprotected string `json:"unprotected"`
	Stats       string `json:"stats"`
	Issuer      string `json:"issuer"`
	Token       string `json:"token"`
}

// target is a set-up but not yet serving rstarget.
type target struct {
	info    info
	servers []loadtarget.Server
	// introspections counts the introspection requests the AS answered.
	introspections atomic.Int64
}

// newTarget listens on apiAddr and on another loopback port for the AS,
// registers the clients, mints the token and builds both handlers.
func newTarget(ctx context.Context, apiAddr string, jwt bool, logger *slog.Logger) (_ *target, err error) {
	t := &target{}
	asLn, err := loadtarget.Listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			asLn.Close()
		}
	}()
	apiLn, err := loadtarget.Listen(apiAddr)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			apiLn.Close()
		}
	}()

	t.info.Issuer = "http://" + asLn.Addr().String()
	p, err := provider.New(provider.Config{
		Issuer:        t.info.Issuer,
		Store:         store.NewMemory(),
		KeyAlgorithms: []string{provider.AlgES256}, // only opaque tokens here: spare the RSA key generation
		Logger:        logger,
	})
	if err != nil {
		return nil, err
	}
	app, _, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{
		Name: "load app", Scopes: []string{"orders:read"}, Resources: []string{resource}, JWTAccessTokens: jwt,
	})
	if err != nil {
		return nil, err
	}
	api, apiSecret, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{
		Name: "load API", Resources: []string{resource}, Introspection: store.IntrospectOwnAudience,
	})
	if err != nil {
		return nil, err
	}
	t.info.Token, err = p.Mint(ctx, provider.MintRequest{ClientID: app.ID, Scopes: []string{"orders:read"}})
	if err != nil {
		return nil, err
	}
	introspectionURL, _ := p.Metadata()["introspection_endpoint"].(string)
	if introspectionURL == "" {
		return nil, fmt.Errorf("rstarget: the provider advertises no introspection_endpoint")
	}
	introspectionPath := strings.TrimPrefix(introspectionURL, t.info.Issuer)
	as := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == introspectionPath {
			t.introspections.Add(1)
		}
		p.ServeHTTP(w, r)
	})

	// The resource server as a user would configure it: default cache,
	// timeouts and resilience.
	icfg := introspect.Config{
		IntrospectionURL: introspectionURL,
		ClientID:         api.ID,
		ClientSecret:     apiSecret,
		Logger:           logger,
	}
	var validator rs.Introspector
	if jwt {
		validator, err = jwtStack(t.info.Issuer, icfg, logger)
	} else {
		validator, err = introspect.New(icfg)
	}
	if err != nil {
		return nil, err
	}
	guard, err := rs.New(rs.Config{
		Introspector: validator,
		Audiences:    []string{resource},
		Realm:        "loadtarget",
		Logger:       logger,
	})
	if err != nil {
		return nil, err
	}
	protect, err := nethttp.New(nethttp.Config{Guard: guard, Require: scopes.All("orders:read")})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /unprotected", http.HandlerFunc(orders))
	mux.Handle("GET /protected", protect(http.HandlerFunc(orders)))
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"as_introspections\":%d}\n", t.introspections.Load())
	})

	api0 := "http://" + apiLn.Addr().String()
	t.info.Protected = api0 + "/protected"
	t.info.Unprotected = api0 + "/unprotected"
	t.info.Stats = api0 + "/stats"
	t.servers = []loadtarget.Server{{Listener: asLn, Handler: as}, {Listener: apiLn, Handler: mux}}
	return t, nil
}

// jwtStack is the verdict cache above a router that sends the issuer's JWT
// access tokens to a local validator and the others to introspection.
func jwtStack(issuer string, icfg introspect.Config, logger *slog.Logger) (*introspect.Cache, error) {
	local, err := jwtaccess.New(jwtaccess.Config{Issuer: issuer, Audiences: []string{resource}, Logger: logger})
	if err != nil {
		return nil, err
	}
	client, err := introspect.NewClient(icfg)
	if err != nil {
		return nil, err
	}
	router, err := tokenroute.New(tokenroute.Config{Issuers: []tokenroute.Issuer{{Issuer: issuer, JWT: local, Opaque: client}}})
	if err != nil {
		return nil, err
	}
	return introspect.NewCache(router, introspect.CacheConfig{Logger: logger})
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stderr))
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("rstarget", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "loopback `address` of the API (port 0 picks a free port)")
	jwt := fs.Bool("jwt", false, "the token is an RFC 9068 JWT access token, checked locally")
	opts := loadtarget.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if opts.InfoPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: rstarget -info FILE [-jwt] [-addr 127.0.0.1:0] [-pprof ADDR] [-exit-after 15m]")
		return 2
	}
	// Warnings and errors only: a log line per request would be measured too.
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	t, err := newTarget(ctx, *addr, *jwt, logger)
	if err != nil {
		fmt.Fprintln(stderr, "rstarget:", err)
		return 1
	}
	if err := loadtarget.Run(ctx, logger, *opts, t.info, t.servers...); err != nil {
		fmt.Fprintln(stderr, "rstarget:", err)
		return 1
	}
	return 0
}
