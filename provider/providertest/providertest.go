// Package providertest starts an in-process OAuth 2.0 authorization server
// (package provider, on an in-memory store) on a loopback httptest server,
// so that tests of protected handlers can run against real RFC 7662
// introspection in a few lines:
//
//	srv := providertest.New(t)
//	rs := srv.RegisterClient(provider.ClientSpec{Introspection: store.IntrospectAny})
//	app := srv.RegisterClient(provider.ClientSpec{Scopes: []string{"read"}})
//	tok := srv.Mint(providertest.Token{Client: app, Scopes: []string{"read"}})
//
// It is NOT suitable outside tests: its helpers panic or fail the test on
// misuse, and its state is lost when the test ends.
package providertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
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

	t testing.TB
}

// Client is a registered client and its secret ("" for a public client).
type Client struct {
	ID     string
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

// New starts a provider on 127.0.0.1 and stops it when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var h atomic.Pointer[provider.Provider]
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Load().ServeHTTP(w, r)
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
	}
	h.Store(p)
	return &Server{
		Provider:         p,
		HTTP:             ts,
		Issuer:           p.Issuer(),
		TokenURL:         p.TokenURL(),
		IntrospectionURL: p.IntrospectionURL(),
		RevocationURL:    p.RevocationURL(),
		t:                t,
	}
}

// RegisterClient registers a client, failing the test on error.
func (s *Server) RegisterClient(spec provider.ClientSpec) Client {
	s.t.Helper()
	c, secret, err := s.Provider.RegisterClient(context.Background(), spec)
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
