package provider_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/sqlite"
)

func TestRegisterClientValidation(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	rsaJWKS := `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","use":"enc"}]}`
	tests := []struct {
		name string
		spec provider.ClientSpec
	}{
		{"bad scope", provider.ClientSpec{Scopes: []string{"a b"}}},
		{"quote in scope", provider.ClientSpec{Scopes: []string{`a"b`}}},
		{"unknown grant", provider.ClientSpec{GrantTypes: []string{"password"}}},
		{"public client_credentials", provider.ClientSpec{Public: true, GrantTypes: []string{"client_credentials"}}},
		{"public introspection", provider.ClientSpec{Public: true, Introspection: store.IntrospectAny}},
		{"relative resource", provider.ClientSpec{Resources: []string{"/api"}}},
		{"resource with fragment", provider.ClientSpec{Resources: []string{"https://a.example/#x"}}},
		{"lifetime too long", provider.ClientSpec{TokenLifetime: 48 * time.Hour}},
		{"negative lifetime", provider.ClientSpec{TokenLifetime: -time.Second}},
		{"unknown right", provider.ClientSpec{Introspection: 7}},
		{"jwt tokens without resource", provider.ClientSpec{JWTAccessTokens: true}},
		{"signed alg without key", provider.ClientSpec{Introspection: store.IntrospectAny, IntrospectionSignedResponseAlg: "RS256"}},
		{"signed alg none", provider.ClientSpec{Introspection: store.IntrospectAny, IntrospectionSignedResponseAlg: "none"}},
		{"signed alg HS256", provider.ClientSpec{Introspection: store.IntrospectAny, IntrospectionSignedResponseAlg: "HS256"}},
		{"signed without right", provider.ClientSpec{IntrospectionSignedResponseAlg: "ES256"}},
		{"enc without alg", provider.ClientSpec{Introspection: store.IntrospectAny, IntrospectionEncryptedResponseEnc: "A128GCM"}},
		{"enc alg unsupported", provider.ClientSpec{Introspection: store.IntrospectAny, IntrospectionEncryptedResponseAlg: "RSA1_5", JWKS: rsaJWKS}},
		{"enc unsupported", provider.ClientSpec{Introspection: store.IntrospectAny, IntrospectionEncryptedResponseAlg: "ECDH-ES", IntrospectionEncryptedResponseEnc: "A192GCM", JWKS: rsaJWKS}},
		{"enc without keys", provider.ClientSpec{Introspection: store.IntrospectAny, IntrospectionEncryptedResponseAlg: "ECDH-ES"}},
		{"enc key of wrong type", provider.ClientSpec{Introspection: store.IntrospectAny, IntrospectionEncryptedResponseAlg: "RSA-OAEP", JWKS: rsaJWKS}},
		{"enc jwks not JSON", provider.ClientSpec{Introspection: store.IntrospectAny, IntrospectionEncryptedResponseAlg: "ECDH-ES", JWKS: "nope"}},
		{"both jwks and uri", provider.ClientSpec{Introspection: store.IntrospectAny, IntrospectionEncryptedResponseAlg: "ECDH-ES", JWKS: rsaJWKS, JWKSURI: "https://rs.example/jwks"}},
		{"http jwks_uri", provider.ClientSpec{Introspection: store.IntrospectAny, IntrospectionEncryptedResponseAlg: "ECDH-ES", JWKSURI: "http://rs.example/jwks"}},
		{"jwks without encryption", provider.ClientSpec{JWKS: rsaJWKS}},
		{"long name", provider.ClientSpec{Name: strings.Repeat("n", 201)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := e.p.Admin().RegisterClient(context.Background(), tt.spec)
			if !errors.Is(err, provider.ErrInvalidClient) {
				t.Errorf("err = %v, want ErrInvalidClient", err)
			}
		})
	}
	c, secret, err := e.p.Admin().RegisterClient(context.Background(), provider.ClientSpec{Introspection: store.IntrospectAny,
		IntrospectionEncryptedResponseAlg: "ECDH-ES", JWKS: rsaJWKS})
	if err != nil {
		t.Fatal(err)
	}
	if c.IntrospectionSignedResponseAlg != "ES256" || c.IntrospectionEncryptedResponseEnc != "A128CBC-HS256" {
		t.Errorf("defaults: sig %q enc %q", c.IntrospectionSignedResponseAlg, c.IntrospectionEncryptedResponseEnc)
	}
	if !strings.HasPrefix(c.ID, provider.ClientIDPrefix) || !strings.HasPrefix(secret, provider.ClientSecretPrefix) || len(secret) != len(provider.ClientSecretPrefix)+43 {
		t.Errorf("id %q secret %q", c.ID, secret)
	}
	stored, _ := e.p.Store().Client(context.Background(), c.ID)
	if strings.Contains(string(stored.SecretHash), secret) || !store.Equal(stored.SecretHash, store.Hash(secret)) {
		t.Error("secret not stored as its SHA-256 hash")
	}
	list, err := e.p.Admin().Clients(context.Background())
	if err != nil || len(list) != 1 {
		t.Errorf("Clients = %v, %v", list, err)
	}
}

// TestSQLMetacharacters runs every field through the SQLite store with SQL
// metacharacters in it.
func TestSQLMetacharacters(t *testing.T) {
	e := newEnv(t, sqliteStore(t))
	evil := `x'); DROP TABLE tokens; --`
	resource := "https://api.example/" + `'%20OR%201=1--;"`
	app := e.register(provider.ClientSpec{Name: evil + `"\`, Scopes: []string{"read'", "x;--", "a%_"}, Resources: []string{resource}})
	rs := e.register(provider.ClientSpec{Name: evil, Introspection: store.IntrospectOwnAudience, Resources: []string{resource}})
	tok := e.token(app, "scope", "read' x;--", "resource", resource)
	a := e.introspect(rs, tok)
	m := a.json(t)
	if m["active"] != true || m["scope"] != "read' x;--" || m["aud"] != resource {
		t.Errorf("introspection: %s", a.body)
	}
	for _, bad := range []string{evil, "' OR '1'='1", `"; DELETE FROM clients; --`, "%", "_", "\x00"} {
		if a := e.introspect(rs, bad); a.body != `{"active":false}` {
			t.Errorf("token %q: %s", bad, a.body)
		}
		if a := e.do(req{path: "/introspect", basic: basic(bad, bad), form: form("token", tok)}); a.status != 401 {
			t.Errorf("client id %q: %d", bad, a.status)
		}
		if a := e.do(req{path: "/token", basic: basic(app.id, app.secret), form: form("grant_type", "client_credentials", "scope", bad)}); a.status != 400 {
			t.Errorf("scope %q: %d", bad, a.status)
		}
		if a := e.do(req{path: "/revoke", basic: basic(app.id, app.secret), form: form("token", bad)}); a.status != 200 {
			t.Errorf("revoke %q: %d", bad, a.status)
		}
	}
	list, err := e.p.Admin().Clients(context.Background())
	if err != nil || len(list) != 2 || list[0].Name == "" {
		t.Fatalf("clients after the attempts: %v %v", list, err)
	}
	if a := e.introspect(rs, tok); a.json(t)["active"] != true {
		t.Error("token lost")
	}
}

// TestSharedDatabase is "tokengate client create" while "tokengate serve"
// runs: two providers on one SQLite file.
func TestSharedDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	open := func() store.Store {
		s, err := sqlite.Open(sqlite.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	serve := newEnv(t, open())
	cli, err := provider.NewAdmin(provider.AdminConfig{Store: open()})
	if err != nil {
		t.Fatal(err)
	}
	c, secret, err := cli.RegisterClient(context.Background(), provider.ClientSpec{Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	rs, rsSecret, err := cli.RegisterClient(context.Background(), provider.ClientSpec{Introspection: store.IntrospectAny})
	if err != nil {
		t.Fatal(err)
	}
	tok := serve.token(registered{id: c.ID, secret: secret})
	if a := serve.introspect(registered{id: rs.ID, secret: rsSecret}, tok); a.json(t)["active"] != true {
		t.Errorf("introspection: %s", a.body)
	}
	if err := cli.DeleteClient(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	if a := serve.introspect(registered{id: rs.ID, secret: rsSecret}, tok); a.body != `{"active":false}` {
		t.Errorf("after delete from the other process: %s", a.body)
	}
	keys, _ := open().Keys(context.Background())
	if len(keys) != 2 {
		t.Errorf("%d keys, want 2: the admin must reuse the server's", len(keys))
	}
}

// TestClientCache: a client deleted by this process stops authenticating at
// once; one deleted by another process within ClientCacheTTL.
func TestClientCache(t *testing.T) {
	st := sqliteStore(t)
	e := newEnv(t, st)
	other, err := provider.New(provider.Config{Issuer: e.issuer, Store: st, KeyAlgorithms: []string{provider.AlgES256, provider.AlgEdDSA}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	app := e.register(provider.ClientSpec{})
	rs1 := e.register(provider.ClientSpec{Introspection: store.IntrospectAny})
	rs2 := e.register(provider.ClientSpec{Introspection: store.IntrospectAny})
	tok := e.token(app)
	for _, rs := range []registered{rs1, rs2} {
		if a := e.introspect(rs, tok); a.status != 200 {
			t.Fatalf("warm-up: %d", a.status)
		}
	}
	ctx := context.Background()
	if err := e.p.Admin().DeleteClient(ctx, rs1.id); err != nil {
		t.Fatal(err)
	}
	if a := e.introspect(rs1, tok); a.status != 401 {
		t.Errorf("deleted here: %d, want 401 at once", a.status)
	}
	if err := other.Admin().DeleteClient(ctx, rs2.id); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(provider.DefaultClientCacheTTL)
	if a := e.introspect(rs2, tok); a.status != 401 {
		t.Errorf("deleted elsewhere, after the TTL: %d, want 401", a.status)
	}
}

// TestDeletedClientTokenRequest (finding 7 of the review): a client deleted
// by another process may still authenticate from the cache for up to
// ClientCacheTTL; a token request in that window got 500 server_error (the
// token's foreign key failed). It is 401 invalid_client, and nothing is
// stored.
func TestDeletedClientTokenRequest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokengate.db")
	e := newEnv(t, sqliteStoreAt(t, path))
	// Another process: its own handle on the same file.
	other, err := provider.New(provider.Config{Issuer: e.issuer, Store: sqliteStoreAt(t, path), KeyAlgorithms: []string{provider.AlgES256, provider.AlgEdDSA}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	app := e.register(provider.ClientSpec{})
	e.token(app) // cached now
	if err := other.Admin().DeleteClient(context.Background(), app.id); err != nil {
		t.Fatal(err)
	}
	a := e.do(req{path: "/token", basic: basic(app.id, app.secret), form: form("grant_type", "client_credentials")})
	if a.status != http.StatusUnauthorized || a.json(t)["error"] != "invalid_client" || a.header.Get("WWW-Authenticate") == "" {
		t.Errorf("token request of a client deleted elsewhere: %d %s, want 401 invalid_client with a challenge", a.status, a.body)
	}
}
