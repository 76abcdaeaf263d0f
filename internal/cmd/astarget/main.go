// Command astarget is the load target of scripts/bench-provider.sh: the
// provider (package provider) on a loopback port, on the SQLite store, the
// PostgreSQL one or the in-memory one, with two clients registered — an app that gets tokens by
// client_credentials and a resource server that may introspect them (RFC
// 7662) — and, so that lookups do not run on an empty store, a history of
// already-issued tokens.
//
// Usage:
//
//	astarget -info FILE [-store sqlite|postgres|memory] [-db PATH|DSN] [-history 10000]
//	         [-addr 127.0.0.1:0] [-pprof 127.0.0.1:6060] [-exit-after 15m]
//
// When it listens, it writes FILE (mode 0600):
//
//	{"issuer": "http://127.0.0.1:PORT", "store": "sqlite",
//	 "token_endpoint": "…/token", "introspection_endpoint": "…/introspect",
//	 "resource": "urn:tokengate:loadtarget", "scope": "orders:read",
//	 "app_id": "tgc_…", "app_secret": "…", "rs_id": "tgc_…", "rs_secret": "…"}
//
// Nothing else is logged but warnings and errors: a log line per request
// would be measured too ("tokengate serve" logs one; measure it separately).
// It serves until SIGINT or SIGTERM, or until -exit-after has passed. The
// SQLite database is a new file in a temporary directory, removed on exit,
// unless -db names one. The PostgreSQL database is the DSN -db gives, or
// else a PostgreSQL server of its own (internal/testserver: Debian's
// postgresql package, fsync off), started in a temporary directory and
// stopped on exit.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/tokengate/tokengate/internal/loadtarget"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/postgres"
	"github.com/tokengate/tokengate/provider/store/sqlite"
)

// resource is the audience of the app's tokens and the resource the
// introspecting client is registered for.
const resource = "urn:tokengate:loadtarget"

// info is what the target writes to -info.
type info struct {
	Issuer                string `json:"issuer"`
	Store                 string `json:"store"`
	TokenEndpoint         string `json:"token_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	Resource              string `json:"resource"`
	Scope                 string `json:"scope"`
	AppID                 string `json:"app_id"`
	AppSecret             string `json:"app_secret"`
	RSID                  string `json:"rs_id"`
	RSSecret              string `json:"rs_secret"`
}

// config is what the flags say.
type config struct {
	addr      string
	storeKind string // "sqlite", "postgres" or "memory"
	dbPath    string // for sqlite, or the DSN for postgres; "" means a new database
	dir       string // where a new database goes
	history   int
	logger    *slog.Logger
}

// target is a set-up but not yet serving astarget.
type target struct {
	info   info
	server loadtarget.Server
	close  func()
}

func newTarget(ctx context.Context, cfg config) (_ *target, err error) {
	t := &target{close: func() {}}
	defer func() {
		if err != nil {
			t.close()
		}
	}()
	onClose := func(f func()) {
		prev := t.close
		t.close = func() { f(); prev() }
	}

	var st store.Store
	switch cfg.storeKind {
	case "memory":
		st = store.NewMemory()
	case "sqlite":
		path := cfg.dbPath
		if path == "" {
			path = filepath.Join(cfg.dir, "tokengate.db")
		}
		s, err := sqlite.Open(sqlite.Config{Path: path})
		if err != nil {
			return nil, err
		}
		onClose(func() { s.Close() })
		st = s
	case "postgres":
		dsn := cfg.dbPath
		if dsn == "" {
			var stop func()
			if dsn, stop, err = startPostgres(); err != nil {
				return nil, err
			}
			onClose(stop)
		}
		s, err := postgres.Open(ctx, postgres.Config{DSN: dsn})
		if err != nil {
			return nil, err
		}
		onClose(func() { s.Close() })
		st = s
	default:
		return nil, fmt.Errorf("astarget: -store %q: want sqlite, postgres or memory", cfg.storeKind)
	}

	ln, err := loadtarget.Listen(cfg.addr)
	if err != nil {
		return nil, err
	}
	onClose(func() { ln.Close() })
	issuer := "http://" + ln.Addr().String()
	// The configuration "tokengate serve" uses, less its request log, and
	// with no token quota to speak of: the token endpoint's load is one
	// client asking as fast as it can, to measure the endpoint, which the
	// quota (600 a minute per client by default) would turn into 429s.
	p, err := provider.New(provider.Config{Issuer: issuer, Store: st, Logger: cfg.logger, TokensPerMinute: 1 << 30})
	if err != nil {
		return nil, err
	}
	onClose(func() { p.Close() })
	app, appSecret, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{
		Name: "load app", Scopes: []string{"orders:read"}, Resources: []string{resource},
	})
	if err != nil {
		return nil, err
	}
	rsc, rsSecret, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{
		Name: "load API", Resources: []string{resource}, Introspection: store.IntrospectOwnAudience,
	})
	if err != nil {
		return nil, err
	}
	for range cfg.history {
		if _, err := p.Mint(ctx, provider.MintRequest{ClientID: app.ID, Scopes: []string{"orders:read"}}); err != nil {
			return nil, err
		}
	}
	md := p.Metadata()
	t.info = info{
		Issuer:    issuer,
		Store:     cfg.storeKind,
		Resource:  resource,
		Scope:     "orders:read",
		AppID:     app.ID,
		AppSecret: appSecret,
		RSID:      rsc.ID,
		RSSecret:  rsSecret,
	}
	t.info.TokenEndpoint, _ = md["token_endpoint"].(string)
	t.info.IntrospectionEndpoint, _ = md["introspection_endpoint"].(string)
	if t.info.TokenEndpoint == "" || t.info.IntrospectionEndpoint == "" {
		return nil, fmt.Errorf("astarget: the provider advertises no token or introspection endpoint")
	}
	t.server = loadtarget.Server{Listener: ln, Handler: p}
	return t, nil
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stderr))
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("astarget", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:0", "loopback `address` to listen on (port 0 picks a free port)")
	fs.StringVar(&cfg.storeKind, "store", "sqlite", "`store`: sqlite, postgres or memory")
	fs.StringVar(&cfg.dbPath, "db", "", "SQLite database `file`, or PostgreSQL DSN (default: a new database, removed on exit)")
	fs.IntVar(&cfg.history, "history", 10000, "`number` of tokens issued before serving, so that lookups do not run on an empty store")
	opts := loadtarget.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if opts.InfoPath == "" || fs.NArg() > 0 || cfg.history < 0 {
		fmt.Fprintln(stderr, "usage: astarget -info FILE [-store sqlite|postgres|memory] [-db PATH|DSN] [-history N] [-addr 127.0.0.1:0] [-pprof ADDR] [-exit-after 15m]")
		return 2
	}
	cfg.logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if cfg.storeKind == "sqlite" && cfg.dbPath == "" {
		dir, err := os.MkdirTemp("", "astarget-")
		if err != nil {
			fmt.Fprintln(stderr, "astarget:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		cfg.dir = dir
	}
	t, err := newTarget(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "astarget:", err)
		return 1
	}
	defer t.close()
	if err := loadtarget.Run(ctx, cfg.logger, *opts, t.info, t.server); err != nil {
		fmt.Fprintln(stderr, "astarget:", err)
		return 1
	}
	return 0
}
