//go:build interop

package interop

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tokengate/tokengate/introspect"
)

// peerCase is one way of pointing introspect.Client at a real peer.
type peerCase struct {
	name string
	// cfg is a working configuration.
	cfg introspect.Config
	// wrong is cfg with credentials the peer refuses.
	wrong introspect.Config
	// token mints a token with the scopes orders:read orders:write; revoke revokes one.
	token  func(t testing.TB, scope string) string
	revoke func(t testing.TB, token string)
	// check inspects the active token's response.
	check func(t *testing.T, r *introspect.Response)
}

func (pc peerCase) run(t *testing.T) {
	ctx := context.Background()
	// These tests are about what crosses the wire: every call must reach the
	// peer (a Client without a Cache), so a revocation after a first use is
	// seen at once.
	client, err := introspect.NewClient(pc.cfg)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("active", func(t *testing.T) {
		r, err := client.Introspect(ctx, pc.token(t, "orders:read orders:write"))
		if err != nil {
			t.Fatal(err)
		}
		if !r.Active {
			t.Fatal("Active is false with a nil error")
		}
		if got, want := scopeList(r.Scope), []string{"orders:read", "orders:write"}; !slices.Equal(got, want) {
			t.Errorf("scopes %v, want %v", got, want)
		}
		if now := time.Now(); r.Expiry.Before(now) || r.Expiry.After(now.Add(time.Hour)) {
			t.Errorf("expiry %v is not within the token's lifetime (600s)", r.Expiry)
		}
		pc.check(t, r)
	})

	t.Run("revoked", func(t *testing.T) {
		tok := pc.token(t, "orders:read")
		if _, err := client.Introspect(ctx, tok); err != nil {
			t.Fatalf("before revocation: %v", err)
		}
		pc.revoke(t, tok)
		if r, err := client.Introspect(ctx, tok); !errors.Is(err, introspect.ErrInactive) {
			t.Errorf("after revocation: %v, %v; want ErrInactive", r, err)
		}
	})

	t.Run("garbage", func(t *testing.T) {
		for _, tok := range []string{"garbage", "x", "a b", "ünïcode", "AAAA.BBBB"} {
			if r, err := client.Introspect(ctx, tok); !errors.Is(err, introspect.ErrInactive) {
				t.Errorf("%q: %v, %v; want ErrInactive", tok, r, err)
			}
		}
	})

	t.Run("JWT-shaped garbage", func(t *testing.T) {
		// oidc-provider refuses to introspect anything that parses as a JWT
		// with 400 unsupported_token_type; DOT says {"active": false}. Both
		// must be ErrInactive (so rs answers 401 invalid_token), never an
		// outage or our own misconfiguration.
		r, err := client.Introspect(ctx, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
		if !errors.Is(err, introspect.ErrInactive) {
			t.Errorf("%v, %v; want ErrInactive", r, err)
		}
		if errors.Is(err, introspect.ErrASRejectedClient) || errors.Is(err, introspect.ErrUnavailable) || errors.Is(err, introspect.ErrMalformedResponse) {
			t.Errorf("%v is filed under another category too", err)
		}
	})

	t.Run("wrong credentials", func(t *testing.T) {
		bad, err := introspect.New(pc.wrong)
		if err != nil {
			t.Fatal(err)
		}
		r, err := bad.Introspect(ctx, pc.token(t, "orders:read"))
		if !errors.Is(err, introspect.ErrASRejectedClient) {
			t.Fatalf("%v, %v; want ErrASRejectedClient", r, err)
		}
		for _, other := range []error{introspect.ErrInactive, introspect.ErrUnavailable, introspect.ErrMalformedResponse} {
			if errors.Is(err, other) {
				t.Errorf("%v also matches %v", err, other)
			}
		}
	})
}

func scopeList(s string) []string {
	out := strings.Fields(s)
	slices.Sort(out)
	return out
}

func wrongSecret(cfg introspect.Config) introspect.Config {
	cfg.ClientSecret += "-wrong"
	return cfg
}

func TestIntrospectOIDCProvider(t *testing.T) {
	op := oidcProvider(t)
	check := func(t *testing.T, r *introspect.Response) {
		// oidc-provider: the token's client, its resource as a string "aud",
		// its issuer, token_type Bearer, and no sub for client_credentials.
		if r.ClientID != op.API.ID || r.Issuer != op.Issuer || r.TokenType != "Bearer" || r.Subject != "" {
			t.Errorf("client_id %q iss %q token_type %q sub %q", r.ClientID, r.Issuer, r.TokenType, r.Subject)
		}
		if !slices.Equal(r.Audience, []string{op.Resource}) {
			t.Errorf("aud %v, want [%s]", r.Audience, op.Resource)
		}
		if r.IssuedAt.IsZero() || r.IssuedAt.After(r.Expiry) {
			t.Errorf("iat %v exp %v", r.IssuedAt, r.Expiry)
		}
	}
	basic := introspect.Config{Issuer: op.Issuer, ClientID: op.RSBasic.ID, ClientSecret: op.RSBasic.Secret}
	postCfg := introspect.Config{Issuer: op.Issuer, ClientID: op.RSPost.ID, ClientSecret: op.RSPost.Secret, AuthStyle: introspect.AuthStylePost}
	hinted := introspect.Config{IntrospectionURL: op.IntrospectionURL, ClientID: op.RSBasic.ID, ClientSecret: op.RSBasic.Secret, TokenTypeHint: "access_token"}
	for _, pc := range []peerCase{
		{name: "discovery, client_secret_basic", cfg: basic, wrong: wrongSecret(basic)},
		{name: "discovery, client_secret_post", cfg: postCfg, wrong: wrongSecret(postCfg)},
		{name: "introspection URL, basic, token_type_hint", cfg: hinted, wrong: wrongSecret(hinted)},
	} {
		pc.token, pc.revoke, pc.check = op.Token, op.Revoke, check
		t.Run(pc.name, pc.run)
	}

	t.Run("unknown client", func(t *testing.T) {
		c, err := introspect.New(introspect.Config{Issuer: op.Issuer, ClientID: "nobody", ClientSecret: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Introspect(context.Background(), op.Token(t, "orders:read")); !errors.Is(err, introspect.ErrASRejectedClient) {
			t.Errorf("%v, want ErrASRejectedClient", err)
		}
	})

	t.Run("encrypted-only client asking for JSON", func(t *testing.T) {
		// oidc-provider refuses with 400 invalid_request: a configuration
		// error on our side that must fail closed, never pass.
		c, err := introspect.New(introspect.Config{Issuer: op.Issuer, ClientID: op.RSEncrypted.ID, ClientSecret: op.RSEncrypted.Secret})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Introspect(context.Background(), op.Token(t, "orders:read"))
		var ie *introspect.Error
		if !errors.As(err, &ie) || ie.StatusCode != 400 || ie.Code != "invalid_request" || errors.Is(err, introspect.ErrInactive) {
			t.Errorf("%v, want a 400 invalid_request *introspect.Error", err)
		}
	})
}

func TestIntrospectDOT(t *testing.T) {
	dot := djangoOAuthToolkit(t)
	check := func(t *testing.T, r *introspect.Response) {
		// DOT sends only active, scope, exp, client_id (and username for a
		// user's token): no aud, iss, iat, sub or token_type.
		if r.ClientID != dot.API.ID || r.Issuer != "" || len(r.Audience) != 0 || !r.IssuedAt.IsZero() || r.TokenType != "" {
			t.Errorf("unexpected members: %+v", r)
		}
	}
	basic := introspect.Config{IntrospectionURL: dot.IntrospectionURL, ClientID: dot.RS.ID, ClientSecret: dot.RS.Secret}
	postCfg := basic
	postCfg.AuthStyle = introspect.AuthStylePost
	static := introspect.Config{IntrospectionURL: dot.IntrospectionURL,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: dot.IntrospectionToken, TokenType: "Bearer"})}
	staticWrong := static
	staticWrong.TokenSource = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "not-" + dot.IntrospectionToken, TokenType: "Bearer"})
	cc := clientcredentials.Config{ClientID: dot.RS.ID, ClientSecret: dot.RS.Secret, TokenURL: dot.TokenURL, Scopes: []string{"introspection"}}
	fromGrant := introspect.Config{IntrospectionURL: dot.IntrospectionURL, TokenSource: cc.TokenSource(context.Background())}
	// A bearer token without the introspection scope is refused too.
	underScoped := introspect.Config{IntrospectionURL: dot.IntrospectionURL,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: dot.UserToken, TokenType: "Bearer"})}

	for _, pc := range []peerCase{
		{name: "URL, client_secret_basic", cfg: basic, wrong: wrongSecret(basic)},
		{name: "URL, client_secret_post", cfg: postCfg, wrong: wrongSecret(postCfg)},
		{name: "URL, static bearer", cfg: static, wrong: staticWrong},
		{name: "URL, bearer from client_credentials", cfg: fromGrant, wrong: underScoped},
	} {
		pc.token, pc.revoke, pc.check = dot.Token, dot.Revoke, check
		t.Run(pc.name, pc.run)
	}

	t.Run("username", func(t *testing.T) {
		c, err := introspect.New(basic)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Introspect(context.Background(), dot.UserToken)
		if err != nil {
			t.Fatal(err)
		}
		if r.Username != "alice" || r.Subject != "" || r.Scope != "orders:read" {
			t.Errorf("username %q sub %q scope %q, want alice, none, orders:read", r.Username, r.Subject, r.Scope)
		}
	})

	t.Run("discovery fails with a clear error", func(t *testing.T) {
		c, err := introspect.New(introspect.Config{Issuer: dot.BaseURL, ClientID: dot.RS.ID, ClientSecret: dot.RS.Secret})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Introspect(context.Background(), dot.Token(t, "orders:read"))
		if !errors.Is(err, introspect.ErrUnavailable) || errors.Is(err, introspect.ErrInactive) {
			t.Fatalf("%v: want a discovery failure (ErrUnavailable)", err)
		}
		if !strings.Contains(err.Error(), dot.BaseURL+"/.well-known/") {
			t.Errorf("%v: the error does not name the discovery URL it tried", err)
		}
	})
}
