package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/lograte"
	"github.com/tokengate/tokengate/rs"
)

// The identity headers an authorised request carries to the upstream (and
// a forward-auth answer carries to the proxy that asked).
const (
	// HeaderSubject is the token's "sub": the resource owner, or the
	// client for a client-credentials token. Absent when the token has
	// none.
	HeaderSubject = "X-Auth-Subject"
	// HeaderClientID is the client the token was issued to.
	HeaderClientID = "X-Auth-Client-Id"
	// HeaderScope is the scopes the token grants, space-separated as in
	// RFC 6749 §3.3.
	HeaderScope = "X-Auth-Scope"
)

// Defaults of [Config].
const (
	DefaultUpstreamTimeout = 30 * time.Second
	DefaultIdleTimeout     = 60 * time.Second
)

// Config configures a [Proxy]. Guard, Routes (or DefaultAllow), and
// Upstream or AuthOnly with TrustedProxies, are required.
type Config struct {
	// Guard checks the token of every request a non-public route matches,
	// and writes every refusal (RFC 6750). Required.
	Guard *rs.Guard
	// Routes say what each request needs; see [Route].
	Routes []Route
	// DefaultAllow lets a request that matches no route through with any
	// valid token, whatever its scopes. The zero value refuses such a
	// request with 403 whatever its token, so that a path nobody thought
	// of is closed. It never lets a request through without a token: give
	// a public route for that.
	DefaultAllow bool

	// Upstream is where authorised requests go: an http or https URL.
	// Its path, if any, is put before the path of every request. Required
	// unless AuthOnly is set.
	Upstream *url.URL
	// StripAuthorization removes the Authorization header from the
	// requests sent upstream. The zero value keeps it, for an upstream
	// that reads the token itself.
	StripAuthorization bool
	// UpstreamTimeout bounds the wait for the upstream's response headers,
	// after the request has been sent. Defaults to
	// [DefaultUpstreamTimeout].
	UpstreamTimeout time.Duration
	// IdleTimeout bounds every wait of a forwarded request for a byte:
	// from the client's body, to the client (a client that stops reading),
	// from the upstream's response and, after a protocol switch such as a
	// WebSocket, in either direction. A streamed response may last as long
	// as bytes keep moving. Defaults to [DefaultIdleTimeout].
	IdleTimeout time.Duration

	// AuthOnly makes the Proxy a forward-auth endpoint instead of a
	// reverse proxy: nginx auth_request, Traefik forwardAuth and Envoy
	// ext_authz (HTTP) ask it about each request, and it answers 200 with
	// the identity headers, or with the refusal for the proxy to pass on.
	// The original method and URI are read from X-Original-Method and
	// X-Original-URI (nginx), else from X-Forwarded-Method and
	// X-Forwarded-Uri (Traefik), else from the request itself (Envoy).
	AuthOnly bool
	// TrustedProxies are the addresses that may ask a forward-auth Proxy:
	// the proxies, whose forwarding headers it believes. Any other caller
	// is refused with 403. Required with AuthOnly, and only used with it.
	TrustedProxies []netip.Prefix

	// Logger receives the failures of upstream requests, at most one line
	// per 10 seconds; it never sees a token. Defaults to slog.Default().
	Logger *slog.Logger
}

// Proxy puts a [rs.Guard] in front of any HTTP service: as a reverse proxy,
// or as the forward-auth endpoint of another proxy (Config.AuthOnly). Every
// request is matched against the routes; an authorised one goes on with the
// identity headers [HeaderSubject], [HeaderClientID] and [HeaderScope], and
// any X-Auth-* header the client sent is removed first, in every spelling,
// so that no caller can claim an identity. It is safe for concurrent use.
type Proxy struct {
	guard  *rs.Guard
	routes *http.ServeMux
	// unrouted is the rule of a request no route matches: nil to refuse
	// it, or, with DefaultAllow, a valid token.
	unrouted *rule
	// forward serves an authorised request: the reverse proxy, or the
	// forward-auth answer.
	forward func(w http.ResponseWriter, r *http.Request, p *rs.Principal)
	trusted []netip.Prefix
	logger  *slog.Logger
	// refusedPeers limits the log lines about untrusted forward-auth
	// callers.
	refusedPeers lograte.Limiter
}

// New returns a Proxy for cfg, or an error naming the first invalid field.
func New(cfg Config) (*Proxy, error) {
	if cfg.Guard == nil {
		return nil, errors.New("proxy: Config.Guard is required")
	}
	if len(cfg.Routes) == 0 && !cfg.DefaultAllow {
		return nil, errors.New("proxy: Config.Routes is empty and DefaultAllow is not set: every request would be refused")
	}
	if cfg.UpstreamTimeout < 0 || cfg.IdleTimeout < 0 {
		return nil, errors.New("proxy: Config.UpstreamTimeout and IdleTimeout must not be negative")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	routes, err := newMatcher(cfg.Routes)
	if err != nil {
		return nil, err
	}
	p := &Proxy{guard: cfg.Guard, routes: routes, logger: cfg.Logger}
	if cfg.DefaultAllow {
		p.unrouted = &rule{}
	}
	switch {
	case cfg.AuthOnly && cfg.Upstream != nil:
		return nil, errors.New("proxy: Config.AuthOnly answers instead of forwarding: leave Upstream unset")
	case cfg.AuthOnly:
		if len(cfg.TrustedProxies) == 0 {
			return nil, errors.New("proxy: Config.TrustedProxies is required with AuthOnly: the addresses of the proxies that ask")
		}
		p.trusted = cfg.TrustedProxies
		p.forward = answer
	case cfg.Upstream == nil:
		return nil, errors.New("proxy: Config.Upstream is required (or set AuthOnly)")
	default:
		if len(cfg.TrustedProxies) > 0 {
			return nil, errors.New("proxy: Config.TrustedProxies is only used with AuthOnly")
		}
		u := cfg.Upstream
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("proxy: Config.Upstream %q: want an http or https URL without user, query or fragment", u.Redacted())
		}
		p.forward = newUpstream(cfg)
	}
	return p, nil
}

// ServeHTTP checks r against the routes and the guard, then forwards it
// (or, with AuthOnly, answers whether it may be forwarded).
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	removeIdentity(r.Header)
	target := r
	if p.trusted != nil {
		var ok bool
		if target, ok = p.original(w, r); !ok {
			return
		}
	}
	if !canonicalPath(target.URL.EscapedPath()) {
		refuse(w, http.StatusBadRequest, "the path is not in canonical form")
		return
	}
	rl := match(p.routes, target)
	if rl == nil {
		rl = p.unrouted
	}
	switch {
	case rl == nil:
		refuse(w, http.StatusForbidden, "no route allows this request")
		return
	case rl.public:
		p.forward(w, r, nil)
		return
	}
	principal, err := p.guard.Check(target, rl.require)
	if err != nil {
		p.guard.Reject(err).Write(w)
		return
	}
	p.forward(w, r, principal)
}

// removeIdentity deletes every header that could pass for an identity
// header: any name that starts with "X-Auth-" in any case, or with
// underscores for hyphens, which CGI, WSGI and others read as the same
// name.
func removeIdentity(h http.Header) {
	for name := range h {
		if len(name) >= len("x-auth-") && isIdentityPrefix(name[:len("x-auth-")]) {
			delete(h, name)
		}
	}
}

func isIdentityPrefix(s string) bool {
	const want = "x-auth-"
	for i := 0; i < len(want); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c == '_' {
			c = '-'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

// identity is what the identity headers say of a principal.
type identity struct{ subject, clientID, scope string }

// identityOf returns the identity headers' values for p. It returns false if
// a value is not printable ASCII, which a header cannot carry unchanged:
// such a request is refused rather than sent with an identity altered or
// missing.
func identityOf(p *rs.Principal) (identity, bool) {
	id := identity{subject: p.Subject, clientID: p.ClientID, scope: p.Scopes.String()}
	return id, printable(id.subject) && printable(id.clientID) && printable(id.scope)
}

// set sets the identity headers on h; an empty value is left out.
func (id identity) set(h http.Header) {
	for _, kv := range [...]struct{ name, value string }{
		{HeaderSubject, id.subject},
		{HeaderClientID, id.clientID},
		{HeaderScope, id.scope},
	} {
		if kv.value != "" {
			h[kv.name] = []string{kv.value}
		}
	}
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// answer is the forward-auth answer to an authorised request: 200 with the
// identity headers.
func answer(w http.ResponseWriter, _ *http.Request, p *rs.Principal) {
	if p != nil {
		id, ok := identityOf(p)
		if !ok {
			refuse(w, http.StatusInternalServerError, "the token's identity cannot be sent in a header")
			return
		}
		id.set(w.Header())
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// refuse answers a request the proxy itself refuses, for a reason that has
// nothing to do with its token.
func refuse(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintf(w, "tokengate: %s\n", msg)
}

// original returns the request a forward-auth call asks about, with the
// method and URI its proxy reports, or answers the call and returns false.
func (p *Proxy) original(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if !p.trustedPeer(r.RemoteAddr) {
		if ok, held := p.refusedPeers.Allow(time.Now()); ok {
			p.logger.Warn("proxy: refused a forward-auth call from an address not in the trusted proxies", "remote", r.RemoteAddr, "held_back", held)
		}
		refuse(w, http.StatusForbidden, "this address may not ask for forward authentication")
		return nil, false
	}
	method, uri, ok := forwardedRequest(r.Header)
	if !ok {
		refuse(w, http.StatusBadRequest, "the forwarding headers are not one X-Original-Method and X-Original-URI, or one X-Forwarded-Method and X-Forwarded-Uri")
		return nil, false
	}
	if uri == "" {
		return r, true // Envoy: the request is the original one
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil || !strings.HasPrefix(uri, "/") {
		refuse(w, http.StatusBadRequest, "the forwarded URI is not a path")
		return nil, false
	}
	o := r.WithContext(r.Context())
	o.Method, o.URL, o.RequestURI = method, u, uri
	return o, true
}

// forwardedRequest returns the method and URI of the forwarding headers: the
// X-Original-* pair of nginx, or the X-Forwarded-* pair of Traefik, or ""
// for none. Both pairs at once are not ok: each proxy sets its own pair and
// passes the client's headers on, so the other pair is the client's, and
// believing it would let a client choose the request that is checked. A
// header sent twice, a URI without its method or a method that is not an
// HTTP token is not ok either.
func forwardedRequest(h http.Header) (method, uri string, ok bool) {
	var found bool
	for _, pair := range [...][2]string{{"X-Original-Method", "X-Original-Uri"}, {"X-Forwarded-Method", "X-Forwarded-Uri"}} {
		methods, uris := h.Values(pair[0]), h.Values(pair[1])
		switch {
		case len(methods) == 0 && len(uris) == 0:
			continue
		case found || len(uris) != 1 || len(methods) != 1 || !isToken(methods[0]):
			return "", "", false
		}
		found, method, uri = true, methods[0], uris[0]
	}
	return method, uri, true
}

// isToken reports whether s is an RFC 9110 token, as a method is.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// trustedPeer reports whether the connection's address is a trusted proxy.
func (p *Proxy) trustedPeer(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, pfx := range p.trusted {
		if pfx.Contains(addr) {
			return true
		}
	}
	return false
}
