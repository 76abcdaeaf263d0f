package provider_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider"
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
