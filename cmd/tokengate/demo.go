package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/tokengate/tokengate/internal/httpserver"
	"github.com/tokengate/tokengate/internal/oauthhttp"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/sqlite"
	"github.com/tokengate/tokengate/provider/users"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

const (
	defaultAPIAddr = "127.0.0.1:8080"
	defaultAppAddr = "127.0.0.1:8081"
	// demoUsername is the person who signs in to the demo web app.
	demoUsername = "demo"
)

const demoUsage = `Start, in one process, an authorization server, an orders API protected by
it and a web app that signs people in, register the clients they need and a
demo user, and print how to try them:

	GET  /api/orders needs the scope orders:read   (the demo token has it)
	POST /api/orders needs the scope orders:write  (the demo token lacks it)

Open the web app in a browser and click "Sign in": you log in as the demo
user (its password is printed), allow the app, and see the orders API's
answer to your own token, with your name from the ID token (OpenID Connect,
authorization code flow with PKCE).

The authorization server keeps its state in a SQLite database in a new
temporary directory, deleted on exit: the same store as "tokengate serve",
so what you see is what you would run, and "tokengate client list --db PATH"
works against the running demo. It keeps serving until interrupted (Ctrl+C).`

// runDemo implements "tokengate demo".
func runDemo(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "demo", "[--addr-as HOST:PORT] [--addr-api HOST:PORT] [--addr-app HOST:PORT]", demoUsage)
	asAddr := fs.String("addr-as", defaultASAddr, "`address` of the authorization server (port 0 picks a free port)")
	apiAddr := fs.String("addr-api", defaultAPIAddr, "`address` of the orders API (port 0 picks a free port)")
	appAddr := fs.String("addr-app", defaultAppAddr, "`address` of the web app that signs people in (port 0 picks a free port)")
	logLevel := fs.String("log-level", "info", "log `level` (logs go to stderr): debug, info, warn or error")
	if code, ok := fs.parseNoArgs(args); !ok {
		return code
	}
	logger, err := newLogger(e.stderr, "text", *logLevel)
	if err != nil {
		return fs.usageError("%v", err)
	}
	for _, a := range []struct{ flag, addr string }{{"--addr-as", *asAddr}, {"--addr-api", *apiAddr}, {"--addr-app", *appAddr}} {
		host, _, err := net.SplitHostPort(a.addr)
		if err != nil {
			return fs.usageError("%s %q: %v", a.flag, a.addr, err)
		}
		if !oauthhttp.IsLoopback(host) {
			return fs.usageError("%s %s: the demo speaks plain http with printed secrets, so it listens on loopback only (127.0.0.1)", a.flag, a.addr)
		}
	}
	dir, err := os.MkdirTemp("", "tokengate-demo-")
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer os.RemoveAll(dir)

	d, err := startDemo(ctx, demoConfig{asAddr: *asAddr, apiAddr: *apiAddr, appAddr: *appAddr, dir: dir, logger: logger})
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer d.close()
	d.writeSteps(e.stdout)
	if err := httpserver.Serve(ctx, logger, d.servers...); err != nil {
		return fs.fail(exitFailure, err)
	}
	fmt.Fprintln(e.stdout, "tokengate demo: stopped; the demo database is deleted.")
	return exitOK
}

// demoConfig configures startDemo.
type demoConfig struct {
	asAddr, apiAddr, appAddr string
	dir                      string // the SQLite file goes here
	logger                   *slog.Logger
}

// demo is a running demo: its URLs, its clients and the servers to serve.
type demo struct {
	asURL, apiURL    string
	appURL           string // the web app that signs people in
	password         string // the demo user's
	dbPath           string
	appID, appSecret string // the demo app: gets tokens with orders:read
	rsID, rsSecret   string // the orders API: introspects them
	introspectionURL string
	tokenURL         string
	servers          []httpserver.Server
	closers          []func()
}

// startDemo listens on both addresses, opens the store, registers the two
// clients and builds both handlers. The caller serves d.servers and calls
// d.close when done.
func startDemo(ctx context.Context, cfg demoConfig) (_ *demo, err error) {
	d := &demo{}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	asLn, err := listen(cfg.asAddr, "--addr-as")
	if err != nil {
		return nil, err
	}
	d.closers = append(d.closers, func() { asLn.Close() })
	apiLn, err := listen(cfg.apiAddr, "--addr-api")
	if err != nil {
		return nil, err
	}
	d.closers = append(d.closers, func() { apiLn.Close() })
	appLn, err := listen(cfg.appAddr, "--addr-app")
	if err != nil {
		return nil, err
	}
	d.closers = append(d.closers, func() { appLn.Close() })
	d.asURL = "http://" + asLn.Addr().String()
	d.apiURL = "http://" + apiLn.Addr().String()
	d.appURL = "http://" + appLn.Addr().String()

	d.dbPath = filepath.Join(cfg.dir, "tokengate.db")
	st, err := sqlite.Open(sqlite.Config{Path: d.dbPath})
	if err != nil {
		return nil, err
	}
	d.closers = append(d.closers, func() { st.Close() })
	as, err := startSignin(ctx, signinConfig{issuer: d.asURL, dbPath: d.dbPath, store: st, logger: cfg.logger})
	if err != nil {
		return nil, err
	}
	d.closers = append(d.closers, as.close)
	p := as.provider
	d.tokenURL, d.introspectionURL = p.TokenURL(), p.IntrospectionURL()

	d.password = rand.Text()[:12]
	if _, err := as.users.Create(ctx, demoUsername, d.password, users.Profile{Name: "Dana Demo", Email: "demo@example.com"}); err != nil {
		return nil, fmt.Errorf("creating the demo user: %w", err)
	}
	web, webSecret, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{
		Name:                   "demo web app",
		Scopes:                 []string{"openid", "profile", "orders:read"},
		GrantTypes:             []string{provider.GrantAuthorizationCode},
		RedirectURIs:           []string{d.appURL + "/callback"},
		PostLogoutRedirectURIs: []string{d.appURL + "/"},
		Resources:              []string{d.apiURL},
		// The app greets the user by the name in the ID token.
		IDTokenIncludeClaims: true,
	})
	if err != nil {
		return nil, fmt.Errorf("registering the demo web app: %w", err)
	}

	app, appSecret, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{
		Name:      "demo app",
		Scopes:    []string{"orders:read"},
		Resources: []string{d.apiURL},
	})
	if err != nil {
		return nil, fmt.Errorf("registering the demo app: %w", err)
	}
	d.appID, d.appSecret = app.ID, appSecret
	api, rsSecret, err := p.Admin().RegisterClient(ctx, provider.ClientSpec{
		Name:          "orders API",
		Resources:     []string{d.apiURL},
		Introspection: store.IntrospectOwnAudience,
	})
	if err != nil {
		return nil, fmt.Errorf("registering the orders API: %w", err)
	}
	d.rsID, d.rsSecret = api.ID, rsSecret

	client, err := introspect.New(introspect.Config{
		IntrospectionURL: d.introspectionURL,
		ClientID:         d.rsID,
		ClientSecret:     d.rsSecret,
		Logger:           cfg.logger,
	})
	if err != nil {
		return nil, err
	}
	guard, err := rs.New(rs.Config{
		Introspector: client,
		Audiences:    []string{d.apiURL},
		Realm:        "orders",
		Logger:       cfg.logger,
	})
	if err != nil {
		return nil, err
	}
	webApp := newDemoApp(d.asURL, web.ID, webSecret, d.appURL, d.apiURL, cfg.logger)
	d.servers = []httpserver.Server{
		{Listener: asLn, Handler: logRequests(cfg.logger, "as", as.handler)},
		{Listener: apiLn, Handler: logRequests(cfg.logger, "api", ordersAPI(guard))},
		{Listener: appLn, Handler: logRequests(cfg.logger, "app", webApp.handler())},
	}
	return d, nil
}

// close releases what startDemo opened, in reverse order.
func (d *demo) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
	d.closers = nil
}

// ordersAPI is the sample protected API: every route needs a valid token,
// GET /api/orders the scope orders:read and POST /api/orders orders:write.
func ordersAPI(guard *rs.Guard) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /api/orders", nethttp.RequireScopes(guard, scopes.All("orders:read"))(http.HandlerFunc(listOrders)))
	mux.Handle("POST /api/orders", nethttp.RequireScopes(guard, scopes.All("orders:write"))(http.HandlerFunc(createOrder)))
	return nethttp.MustNew(nethttp.Config{Guard: guard})(mux)
}

// caller is who a request speaks for, as the API answers it.
type caller struct {
	Subject  string   `json:"subject"`
	Username string   `json:"username,omitempty"`
	ClientID string   `json:"client_id"`
	Scopes   []string `json:"scopes"`
}

func callerOf(r *http.Request) caller {
	p, _ := rs.PrincipalFrom(r.Context()) // never nil behind RequireScopes
	s := p.Scopes.List()
	if s == nil {
		s = []string{}
	}
	return caller{Subject: p.Subject, Username: p.Response.Username, ClientID: p.ClientID, Scopes: s}
}

func listOrders(w http.ResponseWriter, r *http.Request) {
	writeDemoJSON(w, http.StatusOK, map[string]any{
		"caller": callerOf(r),
		"orders": []map[string]any{
			{"id": "ord_1001", "item": "espresso beans", "quantity": 2},
			{"id": "ord_1002", "item": "burr grinder", "quantity": 1},
		},
	})
}

func createOrder(w http.ResponseWriter, r *http.Request) {
	writeDemoJSON(w, http.StatusCreated, map[string]any{"caller": callerOf(r), "created": "ord_1003"})
}

func writeDemoJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// demoReadyLine ends the steps the demo prints; tests wait for it.
const demoReadyLine = "Press Ctrl+C to stop."

// writeSteps prints where things run and the curl lines to try.
func (d *demo) writeSteps(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, `tokengate demo is running.

  authorization server  %s   (metadata: %s/.well-known/openid-configuration)
  orders API            %s   (GET /api/orders needs orders:read, POST /api/orders needs orders:write)
  web app               %s   (signs people in with OpenID Connect and calls the orders API for them)
  database              %s   (SQLite, deleted on exit)

Sign in as a person: open %s in a browser, click "Sign in", log in as
  username: %s
  password: %s
allow the demo web app, and see the orders API's answer to your own token.

Registered clients:
  demo app    %s   may get tokens with scope orders:read for the orders API
  orders API  %s   may introspect tokens meant for the orders API

Or as a program, in another terminal (client credentials):

# 1. Get a token for the demo app (client_credentials grant, scope orders:read):
TOKEN=$(curl -s -u '%s:%s' -d grant_type=client_credentials -d scope=orders:read %s | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

# 2. Call the API with it: 200, and the API says who you are.
curl -i -H "Authorization: Bearer $TOKEN" %s/api/orders

# 3. Create an order: 403, the token lacks orders:write (WWW-Authenticate: Bearer ... error="insufficient_scope", scope="orders:write").
curl -i -X POST -H "Authorization: Bearer $TOKEN" %s/api/orders

# 4. No token at all: 401 with a bare challenge (WWW-Authenticate: Bearer realm="orders").
curl -i %s/api/orders

# 5. What the API learns about the token from the authorization server (RFC 7662 introspection):
curl -s -u '%s:%s' -d "token=$TOKEN" %s

`, d.asURL, d.asURL, d.apiURL, d.appURL, d.dbPath, d.appURL, demoUsername, d.password,
		d.appID, d.rsID,
		d.appID, d.appSecret, d.tokenURL,
		d.apiURL, d.apiURL, d.apiURL,
		d.rsID, d.rsSecret, d.introspectionURL)
	b.WriteString(demoReadyLine + "\n")
	io.WriteString(w, b.String())
}
