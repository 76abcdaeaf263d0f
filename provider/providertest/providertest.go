package providertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/tokengate/tokengate/provider"
)

// Server is a running provider. Its fields are set by [New].
type Server struct {
	// Provider is the authorization server.
	Provider *provider.Provider
	// HTTP is the loopback server it listens on.
	HTTP *httptest.Server
	// Issuer is its issuer URL (HTTP.URL).
	Issuer string
	// TokenURL, IntrospectionURL and RevocationURL are its endpoints.
	TokenURL, IntrospectionURL, RevocationURL string

	t      TB
	faults faults
}

// TB is the part of [testing.TB] that [New] uses: *testing.T, *testing.B
// and *testing.F satisfy it, and so can the test handle of another
// framework.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Client is a registered client and its secret ("" for a public client).
type Client struct {
	// ID is the client_id.
	ID string
	// Secret is the client secret, shown only at registration.
	Secret string
}

// Option changes the provider.Config used by [New].
type Option func(*provider.Config)

// WithConfig lets a test set any provider.Config field. New overwrites
// Issuer with the loopback server's URL; Store defaults to a new in-memory
// store, and KeyAlgorithms to ES256 and EdDSA.
func WithConfig(f func(*provider.Config)) Option { return Option(f) }

// WithNow sets the provider's clock.
func WithNow(now func() time.Time) Option {
	return func(c *provider.Config) { c.Now = now }
}

// New starts a provider on 127.0.0.1 and stops it when the test ends,
// releasing first any request a [Fault] holds.
func New(t TB, opts ...Option) *Server {
	t.Helper()
	var h atomic.Pointer[Server]
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Load().serve(w, r)
	}))
	t.Cleanup(ts.Close)
	var cfg provider.Config
	for _, o := range opts {
		o(&cfg)
	}
	cfg.Issuer = ts.URL
	if cfg.KeyAlgorithms == nil {
		// Ed25519 and P-256 keys are made in microseconds; RSA keys take
		// long enough to slow a large test suite.
		cfg.KeyAlgorithms = []string{provider.AlgES256, provider.AlgEdDSA}
	}
	p, err := provider.New(cfg)
	if err != nil {
		t.Fatalf("providertest: %v", err)
		return nil
	}
	t.Cleanup(func() { p.Close() })
	s := &Server{
		Provider:         p,
		HTTP:             ts,
		Issuer:           p.Issuer(),
		TokenURL:         p.TokenURL(),
		IntrospectionURL: p.IntrospectionURL(),
		RevocationURL:    p.RevocationURL(),
		t:                t,
	}
	s.faults.healed = make(chan struct{})
	s.faults.paths = make(map[string]Endpoint)
	for e, u := range map[Endpoint]string{EndpointIntrospection: p.IntrospectionURL(), EndpointToken: p.TokenURL(), EndpointRevocation: p.RevocationURL(), EndpointJWKS: p.JWKSURL()} {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatalf("providertest: %v", err)
			return nil
		}
		s.faults.paths[pu.Path] = e
	}
	h.Store(s)
	// Cleanups run last first: this one, before ts.Close waits for the
	// requests in flight.
	t.Cleanup(s.Heal)
	return s
}

// RegisterClient registers a client, failing the test on error.
func (s *Server) RegisterClient(spec provider.ClientSpec) Client {
	s.t.Helper()
	c, secret, err := s.Provider.Admin().RegisterClient(context.Background(), spec)
	if err != nil {
		s.t.Fatalf("providertest: %v", err)
	}
	return Client{ID: c.ID, Secret: secret}
}

// Token describes a token for [Server.Mint].
type Token struct {
	// Client the token is issued to.
	Client Client
	// Scopes granted, whether or not the client's registration allows them.
	Scopes []string
	// Audience of the token; nil means the client's registered resources.
	Audience []string
	// Expiry of the token: a time in the past makes an already-expired
	// token. The zero value means the client's token lifetime from now.
	Expiry time.Time
	// Revoked makes an already-revoked token.
	Revoked bool
}

// Mint issues a token directly, failing the test on error.
func (s *Server) Mint(tok Token) string {
	s.t.Helper()
	v, err := s.Provider.Mint(context.Background(), provider.MintRequest{
		ClientID: tok.Client.ID, Scopes: tok.Scopes, Audience: tok.Audience, ExpiresAt: tok.Expiry, Revoked: tok.Revoked})
	if err != nil {
		s.t.Fatalf("providertest: %v", err)
	}
	return v
}

// Revoke revokes a token, failing the test on error.
func (s *Server) Revoke(token string) {
	s.t.Helper()
	if err := s.Provider.Revoke(context.Background(), token); err != nil {
		s.t.Fatalf("providertest: %v", err)
	}
}
