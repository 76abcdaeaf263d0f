package provider_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

func TestNewAdmin(t *testing.T) {
	if _, err := provider.NewAdmin(provider.AdminConfig{}); err == nil || !strings.Contains(err.Error(), "AdminConfig.Store is required") {
		t.Errorf("NewAdmin without a store: %v, want an error naming AdminConfig.Store", err)
	}
	// On a store no server has used, the Admin makes the keys a server
	// with the default KeyAlgorithms would.
	st := store.NewMemory()
	if _, err := provider.NewAdmin(provider.AdminConfig{Store: st}); err != nil {
		t.Fatal(err)
	}
	if got := activeKeys(t, st); len(got) != 3 {
		t.Errorf("keys after NewAdmin on an empty store = %v, want RS256, ES256 and EdDSA", got)
	}
}

// TestAdminAgreesWithServer (issue 10, item 7): NewAdmin took a Config of
// its own, and its doc asked users to give it the server's KeyAlgorithms,
// MaxTokenLifetime and KeyRefreshInterval — values that could disagree, so
// that a rotation by "tokengate keys rotate" retired a key for less time
// than the server's tokens live. A server now saves them in the store and an
// Admin of the same store, in another process, reads them from there.
func TestAdminAgreesWithServer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokengate.db")
	newEnv(t, sqliteStoreAt(t, path), func(c *provider.Config) { // the server

		c.KeyAlgorithms = []string{provider.AlgES256}
		c.MaxTokenLifetime = 72 * time.Hour
		c.DefaultTokenLifetime = time.Hour
		c.KeyRefreshInterval = 10 * time.Second
	})
	clk := newClock()
	st := sqliteStoreAt(t, path) // another process
	a, err := provider.NewAdmin(provider.AdminConfig{Store: st, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The server's longest lifetime, not the default 24h, bounds clients.
	if _, _, err := a.RegisterClient(ctx, provider.ClientSpec{TokenLifetime: 48 * time.Hour}); err != nil {
		t.Errorf("a 48h client under a 72h server: %v", err)
	}
	if _, _, err := a.RegisterClient(ctx, provider.ClientSpec{TokenLifetime: 73 * time.Hour}); !errors.Is(err, provider.ErrInvalidClient) {
		t.Errorf("a 73h client under a 72h server: %v, want ErrInvalidClient", err)
	}
	// The server's families: only ES256 exists.
	if err := a.RotateKeys(ctx, provider.AlgEdDSA); err == nil {
		t.Error("rotating EdDSA, which the server does not keep, succeeded")
	}
	old := activeKeys(t, st)[provider.AlgES256]
	if err := a.RotateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := st.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := clk.Now().Add(72*time.Hour + 2*10*time.Second + time.Minute)
	for _, k := range keys {
		if k.ID == old && !k.NotAfter.Equal(want) {
			t.Errorf("the retired key is published until %v, want %v: the server's MaxTokenLifetime and KeyRefreshInterval", k.NotAfter, want)
		}
	}
	if len(keys) != 2 {
		t.Errorf("%d keys, want the server's ES256 key and its successor", len(keys))
	}
}

// activeKeys returns the kid of the active key of each family in st.
func activeKeys(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	keys, err := st.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		if k.Active() {
			if out[k.Alg] != "" {
				t.Errorf("two active %s keys", k.Alg)
			}
			out[k.Alg] = k.ID
		}
	}
	return out
}

// TestAdminRotateKeys: an Admin, with no issuer, rotates the families it is
// asked to among the server's, and only those.
func TestAdminRotateKeys(t *testing.T) {
	st := store.NewMemory()
	clk := newClock()
	ctx := context.Background()
	// A server with ES256 and EdDSA keys has used the store.
	if err := st.SaveSettings(ctx, &store.Settings{KeyAlgorithms: []string{provider.AlgES256, provider.AlgEdDSA},
		MaxTokenLifetime: time.Hour, KeyRefreshInterval: time.Minute}); err != nil {
		t.Fatal(err)
	}
	a, err := provider.NewAdmin(provider.AdminConfig{Store: st, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	before := activeKeys(t, st)
	if len(before) != 2 || before[provider.AlgES256] == "" || before[provider.AlgEdDSA] == "" {
		t.Fatalf("keys after NewAdmin = %v, want one ES256 and one EdDSA", before)
	}
	if err := a.RotateKeys(ctx, provider.AlgEdDSA, provider.AlgEdDSA); err != nil {
		t.Fatal(err)
	}
	after := activeKeys(t, st)
	if after[provider.AlgES256] != before[provider.AlgES256] || after[provider.AlgEdDSA] == before[provider.AlgEdDSA] {
		t.Errorf("RotateKeys(EdDSA): active %v, before %v: want only EdDSA replaced", after, before)
	}
	if keys, _ := st.Keys(ctx); len(keys) != 3 {
		t.Errorf("%d keys in store, want 3 (the retired EdDSA key stays published)", len(keys))
	}

	if err := a.RotateKeys(ctx, provider.AlgRS256); err == nil || !strings.Contains(err.Error(), `"RS256"`) {
		t.Errorf("RotateKeys(RS256) with RS256 not configured: %v", err)
	}
	if got := activeKeys(t, st); got[provider.AlgEdDSA] != after[provider.AlgEdDSA] || got[provider.AlgES256] != after[provider.AlgES256] {
		t.Errorf("a refused rotation changed the keys: %v, was %v", got, after)
	}

	if err := a.RotateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	all := activeKeys(t, st)
	if all[provider.AlgES256] == after[provider.AlgES256] || all[provider.AlgEdDSA] == after[provider.AlgEdDSA] {
		t.Errorf("RotateKeys() = %v, was %v: want every family replaced", all, after)
	}
}

// TestAdminClients: what an Admin registers and deletes, a server on the
// same store sees.
func TestAdminClients(t *testing.T) {
	st := sqliteStore(t)
	e := newEnv(t, st)
	a, err := provider.NewAdmin(provider.AdminConfig{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := a.RegisterClient(ctx, provider.ClientSpec{Scopes: []string{"bad scope"}}); !errors.Is(err, provider.ErrInvalidClient) {
		t.Errorf("RegisterClient with a bad scope: %v, want ErrInvalidClient", err)
	}
	app, secret, err := a.RegisterClient(ctx, provider.ClientSpec{Name: "app", Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	rs := e.register(provider.ClientSpec{Introspection: store.IntrospectAny})
	tok := e.token(registered{id: app.ID, secret: secret})

	cs, err := a.Clients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	if want := []string{app.ID, rs.id}; !slices.Equal(ids, slices.Sorted(slices.Values(want))) {
		t.Errorf("Clients = %v, want %v", ids, want)
	}

	if err := a.DeleteClient(ctx, app.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteClient(ctx, app.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: %v, want store.ErrNotFound", err)
	}
	if got := e.introspect(rs, tok); got.body != `{"active":false}` {
		t.Errorf("token of a client deleted by the admin: %s", got.body)
	}
}

func TestEndpointURLs(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	md := e.p.Metadata()
	for name, got := range map[string]string{
		"token_endpoint":         e.p.TokenURL(),
		"introspection_endpoint": e.p.IntrospectionURL(),
		"revocation_endpoint":    e.p.RevocationURL(),
		"jwks_uri":               e.p.JWKSURL(),
	} {
		if got != md[name] || !strings.HasPrefix(got, e.issuer+"/") {
			t.Errorf("%s: accessor %q, metadata %q", name, got, md[name])
		}
	}
}
