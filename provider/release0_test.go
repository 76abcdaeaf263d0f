package provider_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/sqlite"
)

// release0 describes testdata/release0/release0.db, a database made by the
// founding release (commit 901196c) with its own command: three clients, a
// token, a revoked token and signing keys.
type release0 struct {
	Issuer     string `json:"issuer"`
	MadeAtUnix int64  `json:"made_at_unix"`
	App        struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	} `json:"app"`
	API struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	} `json:"api"`
	JWTApp struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	} `json:"jwt_app"`
	ActiveToken struct {
		Token string `json:"token"`
		Scope string `json:"scope"`
	} `json:"active_token"`
	RevokedToken struct {
		Token string `json:"token"`
	} `json:"revoked_token"`
}

// TestDatabaseOfTheFirstReleaseKeepsWorking: a database made by the first
// release opens with today's code (its schema migrated forward), and what
// it held still holds: the clients authenticate with their secrets, the
// token is active with its scope, the revoked token stays revoked, and new
// tokens (opaque and JWT) are issued with the keys it stored.
func TestDatabaseOfTheFirstReleaseKeepsWorking(t *testing.T) {
	raw, err := os.ReadFile("testdata/release0/release0.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx release0
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile("testdata/release0/release0.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "release0.db")
	if err := os.WriteFile(path, db, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(sqlite.Config{Path: path})
	if err != nil {
		t.Fatalf("opening a database of the first release: %v", err)
	}
	defer st.Close()
	// The fixture's tokens were minted at MadeAtUnix: run a minute later.
	now := time.Unix(fx.MadeAtUnix, 0).Add(time.Minute)
	p, err := provider.New(provider.Config{Issuer: fx.Issuer, Store: st, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("provider.New on a database of the first release: %v", err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()

	post := func(path, id, secret string, form url.Values) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		var m map[string]any
		json.Unmarshal(body, &m)
		return res.StatusCode, m
	}
	introspect := func(token string) map[string]any {
		t.Helper()
		code, m := post("/introspect", fx.API.ClientID, fx.API.ClientSecret, url.Values{"token": {token}})
		if code != http.StatusOK {
			t.Fatalf("introspection: status %d, %v", code, m)
		}
		return m
	}

	if m := introspect(fx.ActiveToken.Token); m["active"] != true || m["scope"] != fx.ActiveToken.Scope || m["client_id"] != fx.App.ClientID {
		t.Errorf("the stored token: %v; want active with scope %q for %s", m, fx.ActiveToken.Scope, fx.App.ClientID)
	}
	if m := introspect(fx.RevokedToken.Token); m["active"] != false {
		t.Errorf("the revoked token came back: %v", m)
	}

	code, m := post("/token", fx.App.ClientID, fx.App.ClientSecret, url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:write"}})
	tok, _ := m["access_token"].(string)
	if code != http.StatusOK || !strings.HasPrefix(tok, "tg_at_") {
		t.Fatalf("a new opaque token: status %d, %v", code, m)
	}
	if m := introspect(tok); m["active"] != true || m["scope"] != "orders:write" {
		t.Errorf("the new token: %v", m)
	}
	code, m = post("/token", fx.JWTApp.ClientID, fx.JWTApp.ClientSecret, url.Values{"grant_type": {"client_credentials"}})
	if jwt, _ := m["access_token"].(string); code != http.StatusOK || strings.Count(jwt, ".") != 2 {
		t.Fatalf("a new JWT access token: status %d, %v", code, m)
	}
	if code, _ := post("/token", fx.App.ClientID, "not-"+fx.App.ClientSecret, url.Values{"grant_type": {"client_credentials"}}); code != http.StatusUnauthorized {
		t.Errorf("a wrong secret for a stored client: status %d, want 401", code)
	}

	// The migrated database signs people in (schema 3): a client of the
	// code flow, a session, consent, a code, rotating refresh tokens, and
	// the salt of pairwise subjects saved once.
	e := newSignInEnv(t, st)
	r := e.newRP(provider.ClientSpec{PairwiseSubject: true})
	b := e.newBrowser()
	access, refresh, id := e.exchange(r, e.signIn(b, r, "scope", "openid offline_access")).tokens(t)
	if access == "" || refresh == "" || id == "" {
		t.Fatal("no tokens from the code flow on a migrated database")
	}
	if _, again, _ := e.refresh(r, refresh).tokens(t); again == "" {
		t.Error("no rotated refresh token on a migrated database")
	}
	api := e.register(provider.ClientSpec{Introspection: store.IntrospectAny})
	if m := e.introspect(api, access).json(t); m["active"] != true || m["sub"] == "alice-sub" || m["sub"] == "" {
		t.Errorf("a user's token on a migrated database: %v; want active with a pairwise sub", m)
	}
	if s, err := st.Settings(context.Background()); err != nil || len(s.PairwiseSalt) == 0 {
		t.Errorf("settings after migration: %+v, %v; want a pairwise salt", s, err)
	}
}
