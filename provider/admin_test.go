package provider_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

func TestNewAdmin(t *testing.T) {
	tests := []struct {
		name    string
		cfg     provider.Config
		wantErr string
	}{
		{"no store", provider.Config{}, "Config.Store is required"},
		{"unknown key algorithm", provider.Config{Store: store.NewMemory(), KeyAlgorithms: []string{"HS256"}}, "Config.KeyAlgorithms"},
		{"default lifetime over the maximum", provider.Config{Store: store.NewMemory(), DefaultTokenLifetime: 2 * provider.DefaultMaxTokenLifetime}, "DefaultTokenLifetime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := provider.NewAdmin(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewAdmin: %v, want an error naming %s", err, tt.wantErr)
			}
		})
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

// TestAdminRotateKeys: an Admin, with no issuer, initialises an empty store
// and rotates the families it is asked to, and only those.
func TestAdminRotateKeys(t *testing.T) {
	st := store.NewMemory()
	clk := newClock()
	a, err := provider.NewAdmin(provider.Config{Store: st, Now: clk.Now, KeyAlgorithms: []string{provider.AlgES256, provider.AlgEdDSA}})
	if err != nil {
		t.Fatal(err)
	}
	before := activeKeys(t, st)
	if len(before) != 2 || before[provider.AlgES256] == "" || before[provider.AlgEdDSA] == "" {
		t.Fatalf("keys after NewAdmin on an empty store = %v, want one ES256 and one EdDSA", before)
	}
	ctx := context.Background()
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
	a, err := provider.NewAdmin(provider.Config{Store: st, KeyAlgorithms: []string{provider.AlgES256, provider.AlgEdDSA}})
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
