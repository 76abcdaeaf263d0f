package provider_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

// TestCodeGrant: what the token endpoint checks before it redeems a code
// — each failure is invalid_grant (or invalid_request for what is
// missing) and leaves the code usable by its rightful client — and that a
// code is redeemed once: a second presentation fails and revokes what the
// first one issued (RFC 6749 §4.1.2).
func TestCodeGrant(t *testing.T) {
	for name, st := range stores {
		t.Run(name, func(t *testing.T) {
			e := newSignInEnv(t, st(t))
			r := e.newRP(provider.ClientSpec{})
			other := e.newRP(provider.ClientSpec{RedirectURIs: []string{"https://other.example/cb"}})
			rs := e.register(provider.ClientSpec{Introspection: store.IntrospectAny})
			b := e.newBrowser()
			code := e.signIn(b, r)
			for _, tc := range []struct {
				name string
				as   rp
				kv   []string
				want string
			}{
				{"no verifier", r, []string{"code_verifier", ""}, "invalid_request"},
				{"wrong verifier", r, []string{"code_verifier", strings.Repeat("w", 43)}, "invalid_grant"},
				{"verifier too short", r, []string{"code_verifier", "abc"}, "invalid_grant"},
				{"the challenge as verifier", r, []string{"code_verifier", challenge(r.verifier)}, "invalid_grant"},
				{"no redirect_uri", r, []string{"redirect_uri", ""}, "invalid_grant"},
				{"other redirect_uri", r, []string{"redirect_uri", "https://rp.example/cb2"}, "invalid_grant"},
				{"another client (code injection)", other, []string{"redirect_uri", r.redirect}, "invalid_grant"},
				{"unknown code", r, []string{"code", "nope"}, "invalid_grant"},
				{"no code", r, []string{"code", ""}, "invalid_request"},
				{"resource not granted", r, []string{"resource", "https://elsewhere.example/"}, "invalid_target"},
			} {
				if got := e.exchange(tc.as, code, tc.kv...).oauthErr(t); got != tc.want {
					t.Errorf("%s: error %q, want %q", tc.name, got, tc.want)
				}
			}
			a := e.exchange(r, code)
			if a.header.Get("Cache-Control") != "no-store" {
				t.Error("token answer without Cache-Control: no-store")
			}
			access, refresh, id := a.tokens(t)
			if access == "" || refresh != "" || id == "" {
				t.Fatalf("access %q refresh %q id %q; want an access and an ID token, no refresh token (no offline_access)", access, refresh, id)
			}
			if m := e.introspect(rs, access).json(t); m["active"] != true {
				t.Fatalf("the access token is not active: %v", m)
			}
			if got := e.exchange(r, code).oauthErr(t); got != "invalid_grant" {
				t.Errorf("second presentation: %q, want invalid_grant", got)
			}
			if m := e.introspect(rs, access).json(t); m["active"] != false {
				t.Errorf("the code's access token survived its second presentation: %v", m)
			}

			// Codes expire after CodeLifetime.
			code = e.signIn(b, r)
			e.clock.Add(provider.DefaultCodeLifetime)
			if got := e.exchange(r, code).oauthErr(t); got != "invalid_grant" {
				t.Errorf("expired code: %q, want invalid_grant", got)
			}
		})
	}
}

// TestPublicClient: a public client (no secret) redeems its code with
// PKCE alone and refreshes with client_id alone; a secret it does not have
// is refused, and so is a confidential client without its secret.
func TestPublicClient(t *testing.T) {
	e := newSignInEnv(t, store.NewMemory())
	pub := e.newRP(provider.ClientSpec{Public: true, RedirectURIs: []string{"http://127.0.0.1/cb", "com.example.app:/cb"}})
	if pub.client.secret != "" {
		t.Fatal("a public client got a secret")
	}
	b := e.newBrowser()
	code := e.signIn(b, pub, "redirect_uri", "http://127.0.0.1:49152/cb", "scope", "openid offline_access")
	if got := e.exchange(pub, code).oauthErr(t); got != "invalid_grant" {
		t.Errorf("redeeming with the registered port-less URI, not the one sent: %q, want invalid_grant", got)
	}
	_, refresh, _ := e.exchange(pub, code, "redirect_uri", "http://127.0.0.1:49152/cb").tokens(t)
	if refresh == "" {
		t.Fatal("no refresh token for a public client granted offline_access")
	}
	if _, again, _ := e.refresh(pub, refresh).tokens(t); again == "" || again == refresh {
		t.Error("a public client's refresh token did not rotate")
	}
	withSecret := e.do(req{path: "/token", basic: basic(pub.client.id, "guess"),
		form: form("grant_type", "refresh_token", "refresh_token", refresh)})
	if withSecret.status != http.StatusUnauthorized {
		t.Errorf("a public client with a secret: %d %s, want 401", withSecret.status, withSecret.body)
	}
	conf := e.newRP(provider.ClientSpec{})
	code = e.signIn(b, conf)
	conf.client.secret = "" // posts client_id alone
	if a := e.exchange(conf, code); a.status != http.StatusUnauthorized {
		t.Errorf("a confidential client without its secret: %d %s, want 401", a.status, a.body)
	}
}

// TestRefreshTokens: rotation on every use, scope narrowing for the new
// access token only, idle and absolute lifetimes, and RFC 7009 revocation
// of a refresh token, which revokes its whole grant.
func TestRefreshTokens(t *testing.T) {
	for name, st := range stores {
		t.Run(name, func(t *testing.T) {
			e := newSignInEnv(t, st(t), func(c *provider.Config) {
				c.RefreshTokenIdleLifetime = time.Hour
				c.RefreshTokenLifetime = 3 * time.Hour
			})
			r := e.newRP(provider.ClientSpec{Scopes: []string{"orders:read", "orders:write"}})
			rs := e.register(provider.ClientSpec{Introspection: store.IntrospectAny})
			b := e.newBrowser()
			first := func() (string, string) {
				code := e.signIn(b, r, "scope", "openid offline_access orders:read orders:write")
				access, refresh, _ := e.exchange(r, code).tokens(t)
				return access, refresh
			}
			_, refresh := first()

			a := e.refresh(r, refresh, "scope", "orders:read")
			access, next, id := a.tokens(t)
			if m := a.json(t); m["scope"] != "orders:read" || id != "" {
				t.Errorf("narrowed refresh: scope %v id_token %q; want orders:read and no ID token (no openid asked)", m["scope"], id)
			}
			if m := e.introspect(rs, access).json(t); m["scope"] != "orders:read" {
				t.Errorf("narrowed access token scope %v", m["scope"])
			}
			// The grant keeps its scope: the next refresh may ask for all.
			_, next, _ = e.refresh(r, next, "scope", "orders:write openid").tokens(t)
			if got := e.refresh(r, next, "scope", "orders:delete").oauthErr(t); got != "invalid_scope" {
				t.Errorf("widening at refresh: %q, want invalid_scope", got)
			}

			// Idle lifetime: an hour unused.
			e.clock.Add(time.Hour)
			if got := e.refresh(r, next).oauthErr(t); got != "invalid_grant" {
				t.Errorf("refresh token idle for its lifetime: %q, want invalid_grant", got)
			}

			// Absolute lifetime: used every 50 minutes, it still ends 3 hours
			// after the grant.
			_, refresh = first()
			for range 3 {
				e.clock.Add(50 * time.Minute)
				_, refresh, _ = e.refresh(r, refresh).tokens(t)
			}
			e.clock.Add(50 * time.Minute)
			if got := e.refresh(r, refresh).oauthErr(t); got != "invalid_grant" {
				t.Errorf("refresh past the grant's absolute lifetime: %q, want invalid_grant", got)
			}

			// RFC 7009: revoking the refresh token revokes its grant.
			access, refresh = first()
			rev := e.do(req{path: "/revoke", basic: basic(r.client.id, r.client.secret),
				form: form("token", refresh, "token_type_hint", "refresh_token")})
			if rev.status != http.StatusOK {
				t.Fatalf("revocation: %d %s", rev.status, rev.body)
			}
			if got := e.refresh(r, refresh).oauthErr(t); got != "invalid_grant" {
				t.Errorf("revoked refresh token: %q, want invalid_grant", got)
			}
			if m := e.introspect(rs, access).json(t); m["active"] != false {
				t.Errorf("the access token of a revoked refresh token's grant: %v", m)
			}
		})
	}
}

// TestOfflineAccess: an OpenID Connect request gets a refresh token only
// with offline_access granted; a plain OAuth request of a client that may
// refresh gets one; a client without the refresh_token grant never does.
func TestOfflineAccess(t *testing.T) {
	e := newSignInEnv(t, store.NewMemory())
	b := e.newBrowser()
	r := e.newRP(provider.ClientSpec{Scopes: []string{"orders:read"}})
	noRefresh := e.newRP(provider.ClientSpec{GrantTypes: []string{provider.GrantAuthorizationCode}})
	for _, tc := range []struct {
		name  string
		rp    rp
		scope string
		want  bool
	}{
		{"openid without offline_access", r, "openid", false},
		{"openid offline_access", r, "openid offline_access", true},
		{"plain OAuth", r, "orders:read", true},
		{"client without the refresh_token grant", noRefresh, "openid offline_access", false},
	} {
		_, refresh, _ := e.exchange(tc.rp, e.signIn(b, tc.rp, "scope", tc.scope)).tokens(t)
		if (refresh != "") != tc.want {
			t.Errorf("%s: refresh token %v, want %v", tc.name, refresh != "", tc.want)
		}
	}
}

// TestIntrospectUserToken: introspection of a user's access token shows
// the user (sub, username), the client, scope, audience, times, issuer,
// auth_time and acr; a refresh token is active only to its own client,
// and never a Bearer token.
func TestIntrospectUserToken(t *testing.T) {
	e := newSignInEnv(t, sqliteStore(t))
	r := e.newRP(provider.ClientSpec{Resources: []string{"https://orders.example/"}, Scopes: []string{"orders:read"}})
	rs := e.register(provider.ClientSpec{Introspection: store.IntrospectAny})
	self := e.newRP(provider.ClientSpec{Introspection: store.IntrospectOwnAudience})
	b := e.newBrowser()
	access, refresh, _ := e.exchange(r, e.signIn(b, r, "scope", "openid offline_access orders:read")).tokens(t)
	m := e.introspect(rs, access).json(t)
	now := e.clock.Now()
	for k, want := range map[string]any{
		"active": true, "sub": "alice-sub", "username": "alice", "client_id": r.client.id,
		"scope": "openid offline_access orders:read", "aud": "https://orders.example/", "iss": e.issuer,
		"token_type": "Bearer", "acr": "urn:tokengate:pwd",
		"exp": float64(now.Add(provider.DefaultTokenLifetime).Unix()), "iat": float64(now.Unix()),
		"auth_time": float64(now.Unix()),
	} {
		if m[k] != want {
			t.Errorf("introspection %s = %v, want %v", k, m[k], want)
		}
	}
	if m := e.introspect(rs, refresh).json(t); m["active"] != false || len(m) != 1 {
		t.Errorf("a resource server introspecting a refresh token: %v, want {active:false}", m)
	}
	_, ownRefresh, _ := e.exchange(self, e.signIn(b, self, "scope", "openid offline_access")).tokens(t)
	if m := e.introspect(self.client, ownRefresh).json(t); m["active"] != true || m["token_type"] != nil || m["sub"] != "alice-sub" {
		t.Errorf("the client introspecting its own refresh token: %v, want active, no token_type", m)
	}
}
