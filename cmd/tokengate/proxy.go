package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/envconfig"
	"github.com/tokengate/tokengate/internal/httpserver"
	"github.com/tokengate/tokengate/internal/oauthhttp"
	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/proxy"
)

const defaultProxyAddr = "127.0.0.1:8000"

const proxyUsage = `Put the token check in front of a service written in any language, until
SIGINT or SIGTERM, then shut down gracefully.

As a reverse proxy (--upstream URL), every request is matched against the
routes; an authorised one goes to the upstream with X-Auth-Subject,
X-Auth-Client-Id and X-Auth-Scope, and any X-Auth-* header the client sent is
removed. A refused one gets the RFC 6750 answer: 401 or 403 with its
WWW-Authenticate challenge, or 503 with Retry-After when the authorization
server cannot say.

As a forward-auth endpoint (--auth-only), nginx auth_request, Traefik
forwardAuth or Envoy ext_authz asks about each request: the answer is 200 with
the identity headers, or the refusal to pass on. The original method and URI
are read from X-Original-Method and X-Original-URI (nginx), or
X-Forwarded-Method and X-Forwarded-Uri (Traefik), or from the request itself
(Envoy); only the addresses of --trusted-proxy may ask.

A route is a method and a path pattern (net/http's ServeMux syntax: {id} for a
segment, a trailing / for a subtree) and the scopes a token must all grant:

	--route "GET /api/orders orders:read" --route "POST /api/orders/{id} orders:write"

A route without scopes needs any valid token; --public names a pattern that
needs none. A request no route matches is refused with 403, unless
--default-allow lets it through with any valid token.

Tokens are introspected (RFC 7662) with the settings the other commands and
the examples use (see "tokengate help"), or checked locally when they are
RFC 9068 JWT access tokens (--jwt-access-tokens local). The authorization
server is asked once at start: wrong credentials stop the command, an
unreachable server is asked again until it answers, with /readyz saying so.

--config FILE reads the same settings from a JSON object whose members are
the flags' names, a list for a flag given several times:

	{"upstream": "http://127.0.0.1:3000", "issuer": "https://as.example.com",
	 "route": ["GET /api/orders orders:read", "POST /api/orders orders:write"]}

The command line wins over the file, and the file over the environment.

With --health-listen ADDR, GET /healthz (the process serves) and GET /readyz
(the authorization server answered the start-up check and no circuit breaker
to it is open) are served there, apart from the proxied paths.`

// proxyFlags are the flags of "tokengate proxy" beyond the authorization
// server's.
type proxyFlags struct {
	listen, upstream, healthListen, realm            *string
	routes, public, trusted                          stringList
	defaultAllow, stripAuthorization, authOnly       *bool
	accessLog                                        *bool
	upstreamTimeout, idleTimeout                     *time.Duration
	bearer, audience, jwtAccess, jwtResponse         *string
	rsKey, resource, configFile, logFormat, logLevel *string
}

// runProxy implements "tokengate proxy".
func runProxy(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "proxy", "(--upstream URL | --auth-only --trusted-proxy CIDR) --route \"METHOD /path scope...\"... [flags]", proxyUsage)
	as := addASFlags(fs, "introspection-url", "introspection endpoint")
	f := proxyFlags{
		listen:             fs.String("listen", defaultProxyAddr, "`address` to listen on (port 0 picks a free port)"),
		upstream:           fs.String("upstream", "", "`URL` of the service to forward authorised requests to"),
		defaultAllow:       fs.Bool("default-allow", false, "let a request that matches no route through with any valid token (the default refuses it)"),
		stripAuthorization: fs.Bool("strip-authorization", false, "remove the Authorization header before forwarding"),
		authOnly:           fs.Bool("auth-only", false, "answer forward-auth requests (nginx auth_request, Traefik forwardAuth, Envoy ext_authz) instead of forwarding"),
		healthListen:       fs.String("health-listen", "", "`address` to serve /healthz and /readyz on"),
		realm:              fs.String("realm", "api", "`realm` of the WWW-Authenticate challenges"),
		accessLog:          fs.Bool("access-log", false, "log one line per request (never its query string or headers)"),
		upstreamTimeout:    fs.Duration("upstream-timeout", proxy.DefaultUpstreamTimeout, "the longest `duration` to wait for the upstream's response headers"),
		idleTimeout:        fs.Duration("idle-timeout", proxy.DefaultIdleTimeout, "the longest `duration` a forwarded request, response or WebSocket may go without a byte either way"),
		bearer:             fs.String("bearer", "", "authenticate to the authorization server with this bearer `token` instead of a client secret"),
		audience:           fs.String("audience", "", "accepted `audiences`, comma-separated (required with --jwt-access-tokens local; unset skips the check)"),
		jwtAccess:          fs.String("jwt-access-tokens", "", "`mode`: local checks RFC 9068 JWT access tokens with the issuer's keys; introspect (the default) introspects every token"),
		jwtResponse:        fs.String("jwt-response", "", "`mode` of RFC 9701 introspection answers: signed, or encrypted (to --rs-key); json (the default) for plain RFC 7662"),
		rsKey:              fs.String("rs-key", "", "private key `file` (PEM or JWK) that decrypts encrypted introspection answers"),
		resource:           fs.String("resource", "", "our RFC 9728 resource identifier, an https `URL`: its metadata document is served, and named in every challenge"),
		configFile:         fs.String("config", "", "JSON `file` of settings, named as the flags are"),
		logFormat:          fs.String("log-format", "text", "log `format`: text or json"),
		logLevel:           fs.String("log-level", "info", "log `level`: debug, info, warn or error"),
	}
	fs.Var(&f.routes, "route", "a `route`: \"METHOD /path scope...\" (repeatable)")
	fs.Var(&f.public, "public", "a `pattern` that needs no token, such as \"GET /health\" (repeatable)")
	fs.Var(&f.trusted, "trusted-proxy", "`CIDR` or address of a proxy allowed to ask with --auth-only (repeatable)")
	fs.beforeEnvironment = func() error { return fs.applyConfigFile(*f.configFile) }
	if code, ok := fs.parseNoArgs(args); !ok {
		return code
	}
	logger, err := newLogger(e.stderr, *f.logFormat, *f.logLevel)
	if err != nil {
		return fs.usageError("%v", err)
	}
	pcfg, msg := f.proxyConfig(fs)
	if msg != "" {
		return fs.usageError("%s", msg)
	}
	cfg, err := envconfig.Load(f.settings(fs, as))
	if err != nil {
		return fs.usageError("%s", strings.ReplaceAll(fs.renameVariables(err.Error()), "\n", "; "))
	}
	cfg.Guard.Realm = *f.realm
	cfg.Introspect.InsecureAllowHTTPEndpoint = *as.insecure
	var circuits circuits
	cfg.ClientObserver = circuits.add
	svc, err := cfg.Build(logger, nil)
	if err != nil {
		return fs.usageError("%s", err)
	}
	defer svc.Close()
	pcfg.Guard, pcfg.Logger = svc.Guard, logger
	p, err := proxy.New(pcfg)
	if err != nil {
		return fs.usageError("%s", strings.TrimPrefix(err.Error(), "proxy: "))
	}

	ln, err := listen(*f.listen, "--listen")
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer ln.Close()
	var h http.Handler = p
	if len(svc.Public) > 0 {
		h = withPublic(svc.Public, p)
	}
	if *f.accessLog {
		h = logRequests(logger, "proxy", h)
	}
	servers := []httpserver.Server{{Listener: ln, Handler: h}}
	ready := &readiness{svc: svc, circuits: &circuits}
	if *f.healthListen != "" {
		hln, err := listen(*f.healthListen, "--health-listen")
		if err != nil {
			return fs.fail(exitFailure, err)
		}
		defer hln.Close()
		servers = append(servers, httpserver.Server{Listener: hln, Handler: ready.handler()})
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !oauthhttp.IsLoopback(host) {
		logger.Warn("tokengate proxy: listening beyond loopback in plain http: tokens cross the network in clear text unless TLS is terminated in front")
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go ready.start(ctx, logger, cancel)
	attrs := []any{"addr", ln.Addr().String(), "routes", len(pcfg.Routes), "version", buildVersion()}
	if pcfg.AuthOnly {
		attrs = append(attrs, "mode", "auth-only")
	} else {
		attrs = append(attrs, "mode", "reverse-proxy", "upstream", pcfg.Upstream.Redacted())
	}
	if *f.healthListen != "" {
		attrs = append(attrs, "health_addr", servers[1].Listener.Addr().String())
	}
	logger.Info("tokengate proxy: listening", attrs...)
	err = httpserver.Serve(ctx, logger, servers...)
	if cause := context.Cause(ctx); errors.Is(cause, errStartupCheck) {
		return fs.fail(exitAS, cause)
	}
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	logger.Info("tokengate proxy: stopped")
	return exitOK
}

// withPublic serves the documents of the public paths (the RFC 9728
// metadata, our JWK Set) itself, and every other request with next. It
// matches the exact path, unlike a ServeMux, which would redirect the paths
// that the proxy refuses as not canonical.
func withPublic(public map[string]http.Handler, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := public[r.URL.Path]; ok {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// proxyConfig returns the proxy's configuration but for the guard, or what
// is wrong with the flags.
func (f *proxyFlags) proxyConfig(fs *flagSet) (proxy.Config, string) {
	cfg := proxy.Config{
		DefaultAllow:       *f.defaultAllow,
		StripAuthorization: *f.stripAuthorization,
		UpstreamTimeout:    *f.upstreamTimeout,
		IdleTimeout:        *f.idleTimeout,
		AuthOnly:           *f.authOnly,
	}
	switch {
	case *f.authOnly && *f.upstream != "":
		return cfg, fmt.Sprintf("give --auth-only or %s, not both", fs.origin("upstream"))
	case *f.authOnly && len(f.trusted) == 0:
		return cfg, "--auth-only needs --trusted-proxy CIDR: the addresses of the proxies that ask (e.g. 127.0.0.1 for an nginx on this host)"
	case !*f.authOnly && len(f.trusted) > 0:
		return cfg, fmt.Sprintf("%s only applies to --auth-only", fs.origin("trusted-proxy"))
	case !*f.authOnly && *f.upstream == "":
		return cfg, "give --upstream URL (the service to protect), or --auth-only"
	case len(f.routes) == 0 && len(f.public) == 0 && !*f.defaultAllow:
		return cfg, "give at least one --route \"METHOD /path scope...\" (or --default-allow): every request would be refused"
	}
	if *f.upstream != "" {
		u, err := url.Parse(*f.upstream)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cfg, fmt.Sprintf("%s %q: want an http or https URL", fs.origin("upstream"), *f.upstream)
		}
		cfg.Upstream = u
	}
	for _, s := range f.trusted {
		pfx, err := parsePrefix(s)
		if err != nil {
			return cfg, fmt.Sprintf("%s %q: want an address or a CIDR such as 10.0.0.0/8", fs.origin("trusted-proxy"), s)
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, pfx)
	}
	for _, s := range f.routes {
		rt, err := proxy.ParseRoute(s)
		if err != nil {
			return cfg, fmt.Sprintf("%s: %s", fs.origin("route"), strings.TrimPrefix(err.Error(), "proxy: "))
		}
		cfg.Routes = append(cfg.Routes, rt)
	}
	for _, s := range f.public {
		cfg.Routes = append(cfg.Routes, proxy.Route{Pattern: strings.Join(strings.Fields(s), " "), Public: true})
	}
	return cfg, ""
}

// parsePrefix reads a CIDR, or an address as the prefix of that address alone.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		return pfx.Masked(), err
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()), nil
}

// settings returns the TOKENGATE_* variables that the flags stand for, as
// envconfig.Load reads them, so that the proxy checks and combines the
// settings exactly as the examples do.
func (f *proxyFlags) settings(fs *flagSet, as *asFlags) func(string) string {
	auth := string(as.auth)
	if *f.bearer != "" && fs.origin("auth") != "--auth" {
		auth = "" // TOKENGATE_CLIENT_AUTH, set for the commands that use a secret
	}
	vars := map[string]string{
		"TOKENGATE_ISSUER":            *as.issuer,
		"TOKENGATE_INTROSPECTION_URL": *as.endpoint,
		"TOKENGATE_CLIENT_ID":         *as.clientID,
		"TOKENGATE_CLIENT_SECRET":     *as.clientSecret,
		"TOKENGATE_CLIENT_AUTH":       auth,
		"TOKENGATE_BEARER_TOKEN":      *f.bearer,
		"TOKENGATE_AUDIENCE":          *f.audience,
		"TOKENGATE_JWT_ACCESS_TOKENS": *f.jwtAccess,
		"TOKENGATE_JWT_RESPONSE":      *f.jwtResponse,
		"TOKENGATE_RS_KEY":            *f.rsKey,
		"TOKENGATE_RESOURCE":          *f.resource,
	}
	return func(name string) string { return vars[name] }
}

var variableName = regexp.MustCompile(`TOKENGATE_[A-Z_]+`)

// renameVariables rewrites the variable names in a message of
// envconfig.Load as the user gave the settings: the variable itself if it
// came from the environment, else the flag (or the configuration file).
func (f *flagSet) renameVariables(msg string) string {
	return variableName.ReplaceAllStringFunc(msg, func(name string) string {
		for _, v := range environment {
			if v.name == name && v.flag != "" && f.Lookup(v.flag) != nil {
				return f.origin(v.flag)
			}
		}
		return name
	})
}

// circuits follows the circuit breaker of each introspection client.
type circuits struct {
	// list is appended to while the guard is built, before any request,
	// and only read afterwards.
	list []*circuit
}

func (c *circuits) add() introspect.Observer {
	cc := &circuit{}
	c.list = append(c.list, cc)
	return cc
}

// open reports whether the circuit to some authorization server is open.
func (c *circuits) open() bool {
	for _, cc := range c.list {
		if cc.open.Load() {
			return true
		}
	}
	return false
}
