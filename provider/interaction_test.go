package provider_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

// TestFakeLogin drives the headless interaction API as an application with
// its own users does: the provider sends the browser to the application's
// login page with an interaction id, the application signs the user in
// and calls FinishLogin, then the same for consent, and the browser lands
// on the client's redirect URI with a code, the state and iss. A second
// authorization in the same browser needs neither login (single sign-on)
// nor consent (remembered).
func TestFakeLogin(t *testing.T) {
	for name, st := range stores {
		t.Run(name, func(t *testing.T) {
			e := newSignInEnv(t, st(t))
			r := e.newRP(provider.ClientSpec{Name: "Orders app", Scopes: []string{"orders:read"}})
			b := e.newBrowser()

			q := e.callback(e.authorize(b, r.authorizeQuery("scope", "openid profile orders:read", "login_hint", "alice@example.com",
				"ui_locales", "fr-CA en", "max_age", "300")), r, "st-123")
			if q.Get("code") == "" || q.Has("error") {
				t.Fatalf("callback = %v, want a code", q)
			}
			if got := e.app.interactions(); !slices.Equal(got, []provider.InteractionKind{provider.InteractionLogin, provider.InteractionConsent}) {
				t.Fatalf("interactions = %v, want login then consent", got)
			}
			login, consent := e.app.seen[0], e.app.seen[1]
			if login.Client != (provider.InteractionClient{ID: r.client.id, Name: "Orders app"}) ||
				!slices.Equal(login.Scopes, []string{"openid", "profile", "orders:read"}) || login.LoginHint != "alice@example.com" ||
				!slices.Equal(login.UILocales, []string{"fr-CA", "en"}) || login.MaxAge != 5*time.Minute || login.Subject != "" ||
				login.NewScopes != nil || login.ExpiresAt.Sub(e.clock.Now()) != provider.DefaultInteractionLifetime {
				t.Errorf("login interaction = %+v", login)
			}
			if consent.Subject != "alice-sub" || !slices.Equal(consent.NewScopes, consent.Scopes) {
				t.Errorf("consent interaction = %+v, want alice asked for every scope", consent)
			}

			// The same browser again: signed in, consent remembered.
			q = e.callback(e.authorize(b, r.authorizeQuery("scope", "openid orders:read", "state", "second")), r, "second")
			if q.Get("code") == "" {
				t.Fatalf("second callback = %v, want a code", q)
			}
			if n := len(e.app.interactions()); n != 2 {
				t.Errorf("the second authorization asked the application again (%d interactions in all)", n)
			}

			// A finished interaction is gone.
			if _, err := e.p.Interaction(context.Background(), login.ID); !errors.Is(err, provider.ErrInteractionNotFound) {
				t.Errorf("Interaction(finished) = %v, want ErrInteractionNotFound", err)
			}
		})
	}
}

// TestAdminRevokeConsentAndEndSessions: revoking a user's consent makes
// the next authorization ask again; ending the user's sessions makes it
// ask for a login again.
func TestAdminRevokeConsentAndEndSessions(t *testing.T) {
	ctx := context.Background()
	e := newSignInEnv(t, sqliteStore(t))
	r := e.newRP(provider.ClientSpec{})
	b := e.newBrowser()
	e.callback(e.authorize(b, r.authorizeQuery()), r, "st-123")
	cs, err := e.p.Admin().Consents(ctx, "alice-sub")
	if err != nil || len(cs) != 1 || cs[0].ClientID != r.client.id || !slices.Equal(cs[0].Scopes, []string{"openid", "profile"}) {
		t.Fatalf("Consents = %v, %v", cs, err)
	}
	if _, err := e.p.Admin().RevokeConsent(ctx, "alice-sub", r.client.id); err != nil {
		t.Fatal(err)
	}
	e.callback(e.authorize(b, r.authorizeQuery()), r, "st-123")
	if got := e.app.interactions(); !slices.Equal(got, []provider.InteractionKind{"login", "consent", "consent"}) {
		t.Errorf("after RevokeConsent: interactions %v, want consent asked again", got)
	}
	if n, err := e.p.Admin().EndSessions(ctx, "alice-sub"); err != nil || n != 1 {
		t.Fatalf("EndSessions = %d, %v; want 1", n, err)
	}
	e.callback(e.authorize(b, r.authorizeQuery()), r, "st-123")
	if got := e.app.interactions(); !slices.Equal(got, []provider.InteractionKind{"login", "consent", "consent", "login"}) {
		t.Errorf("after EndSessions: interactions %v, want a login again", got)
	}
	if _, err := e.p.Admin().RevokeConsent(ctx, "", ""); err == nil {
		t.Error("RevokeConsent of an empty subject succeeded")
	}
}

// TestDiscovery: with sign-in configured, the document at
// /.well-known/openid-configuration lists every member OpenID Connect
// Discovery and RFC 9207 ask for, each true to what the provider does;
// without it, the provider advertises no authorization endpoint.
func TestDiscovery(t *testing.T) {
	e := newSignInEnv(t, store.NewMemory(), func(c *provider.Config) { c.ScopeClaims = map[string][]string{"roles": {"roles"}} })
	a := e.do(req{method: http.MethodGet, path: "/.well-known/openid-configuration"})
	m := a.json(t)
	str := func(k string) string { s, _ := m[k].(string); return s }
	list := func(k string) []string {
		var out []string
		for _, v := range m[k].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	if str("authorization_endpoint") != e.issuer+"/authorize" || str("userinfo_endpoint") != e.issuer+"/userinfo" ||
		str("token_endpoint") != e.issuer+"/token" || str("jwks_uri") != e.issuer+"/jwks.json" || str("issuer") != e.issuer {
		t.Errorf("endpoints: %v", m)
	}
	for k, want := range map[string][]string{
		"response_types_supported":              {"code"},
		"response_modes_supported":              {"query"},
		"code_challenge_methods_supported":      {"S256"},
		"subject_types_supported":               {"public", "pairwise"},
		"grant_types_supported":                 {"authorization_code", "refresh_token", "client_credentials"},
		"id_token_signing_alg_values_supported": {"ES256", "EdDSA"},
		"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post", "none"},
		"prompt_values_supported":               {"none", "login", "consent"},
	} {
		if got := list(k); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	if scopes := list("scopes_supported"); !slices.Equal(scopes, []string{"openid", "profile", "email", "address", "phone", "offline_access", "roles"}) {
		t.Errorf("scopes_supported = %v", scopes)
	}
	claims := list("claims_supported")
	for _, c := range []string{"sub", "iss", "auth_time", "acr", "amr", "name", "email", "email_verified", "address", "phone_number", "roles"} {
		if !slices.Contains(claims, c) {
			t.Errorf("claims_supported lacks %s: %v", c, claims)
		}
	}
	if m["authorization_response_iss_parameter_supported"] != true || m["request_parameter_supported"] != false ||
		m["request_uri_parameter_supported"] != false {
		t.Errorf("iss parameter / request objects: %v", m)
	}
	plain := newEnv(t, store.NewMemory())
	pm := plain.do(req{method: http.MethodGet, path: "/.well-known/openid-configuration"}).json(t)
	if _, ok := pm["authorization_endpoint"]; ok || len(pm["response_types_supported"].([]any)) != 0 {
		t.Errorf("a provider without LoginURL advertises sign-in: %v", pm)
	}
}

// TestSweepSignIn: Provider.Sweep deletes expired codes, sessions,
// consents and interactions besides tokens.
func TestSweepSignIn(t *testing.T) {
	e := newSignInEnv(t, sqliteStore(t), func(c *provider.Config) { c.ManualSweep = true })
	r := e.newRP(provider.ClientSpec{})
	b := e.newBrowser()
	e.signIn(b, r) // a code, a session, a consent
	stops := e.newBrowser()
	stops.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e.authorize(stops, r.authorizeQuery())                   // an interaction left pending
	e.clock.Add(provider.DefaultConsentLifetime + time.Hour) // everything expired
	n, err := e.p.Sweep(context.Background())
	if err != nil || n != 4 {
		t.Errorf("Sweep = %d, %v; want 4 (code, session, consent, interaction)", n, err)
	}
	if cs, _ := e.p.Admin().Consents(context.Background(), "alice-sub"); len(cs) != 0 {
		t.Errorf("consents after the sweep: %v", cs)
	}
}
