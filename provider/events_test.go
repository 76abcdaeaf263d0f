package provider_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/secevent"
)

// pollAnswer is a decoded answer of the events endpoint.
type pollAnswer struct {
	answer
	resp secevent.PollResponse
	// events are the token-revoked events of the SETs, verified, by jti.
	events map[string]secevent.TokenRevokedEvent
}

// poll posts body to the events endpoint as c.
func (e *env) poll(c registered, body string) pollAnswer {
	e.t.Helper()
	a := e.do(req{path: "/events", basic: basic(c.id, c.secret), form: body, contentType: "application/json"})
	pa := pollAnswer{answer: a}
	if a.status != http.StatusOK {
		return pa
	}
	if err := json.Unmarshal([]byte(a.body), &pa.resp); err != nil {
		e.t.Fatalf("poll answer %s: %v", a.body, err)
	}
	pa.events = map[string]secevent.TokenRevokedEvent{}
	for jti, set := range pa.resp.Sets {
		pa.events[jti] = e.verifySET(set, c.id, jti)
	}
	return pa
}

// verifySET checks a SET as docs/revocation-events.md §2 says it is made,
// and returns its event.
func (e *env) verifySET(set, aud, jti string) secevent.TokenRevokedEvent {
	t := e.t
	t.Helper()
	jws, err := jose.ParseSigned(set, []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256})
	if err != nil {
		t.Fatalf("SET: %v", err)
	}
	h := jws.Signatures[0].Protected
	if h.ExtraHeaders["typ"] != secevent.Type || h.KeyID == "" || h.Algorithm != "ES256" {
		t.Errorf("SET header %+v; want typ %s, a kid, ES256", h, secevent.Type)
	}
	var jwks jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(e.do(req{method: "GET", path: "/jwks.json"}).body), &jwks); err != nil {
		t.Fatal(err)
	}
	keys := jwks.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %s not in the JWK Set", h.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("SET signature: %v", err)
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	var c secevent.Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"exp", "sub", "nbf"} {
		if _, ok := claims[absent]; ok {
			t.Errorf("SET has %s", absent)
		}
	}
	if c.Issuer != e.issuer || !slices.Equal(c.Audience, []string{aud}) || c.ID != jti || c.IssuedAt == 0 ||
		time.Since(time.Unix(c.IssuedAt, 0)) > time.Minute || len(c.Events) != 1 {
		t.Errorf("SET claims %s; want iss, aud %s, jti %s, a recent iat, one event", payload, aud, jti)
	}
	var ev secevent.TokenRevokedEvent
	if err := json.Unmarshal(c.Events[secevent.TokenRevoked], &ev); err != nil || len(ev.TokenSHA256) != 43 || ev.TokenExp == 0 {
		t.Errorf("event %s, %v", c.Events[secevent.TokenRevoked], err)
	}
	return ev
}

// hashes returns the token_sha256 of the events, sorted.
func (pa pollAnswer) hashes() []string {
	var out []string
	for _, ev := range pa.events {
		out = append(out, ev.TokenSHA256)
	}
	slices.Sort(out)
	return out
}

func sortedHashes(tokens ...string) []string {
	var out []string
	for _, tok := range tokens {
		out = append(out, secevent.TokenHash(tok))
	}
	slices.Sort(out)
	return out
}

func TestEventsEndpointRefuses(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	rs := e.register(provider.ClientSpec{Name: "rs", Introspection: store.IntrospectAny})
	app := e.register(provider.ClientSpec{Name: "app", Scopes: []string{"read"}})
	bearer := e.register(provider.ClientSpec{Name: "rs-bearer", Scopes: []string{provider.ScopeIntrospection}})
	withScope := e.token(bearer, "scope", provider.ScopeIntrospection)
	withoutScope := e.token(app, "scope", "read")
	for _, tt := range []struct {
		name   string
		r      req
		status int
		err    string
	}{
		{"no credentials", req{form: `{}`}, 401, secevent.ErrCodeAuthentication},
		{"wrong secret", req{basic: basic(rs.id, "nope"), form: `{}`}, 401, secevent.ErrCodeAuthentication},
		{"client_secret_post cannot apply", req{form: `{}`, rawAuth: ""}, 401, secevent.ErrCodeAuthentication},
		{"a client that may not introspect", req{basic: basic(app.id, app.secret), form: `{}`}, 403, secevent.ErrCodeAccessDenied},
		{"a bearer token without the introspection scope", req{rawAuth: "Bearer " + withoutScope, form: `{}`}, 403, secevent.ErrCodeAccessDenied},
		{"an inactive bearer token", req{rawAuth: "Bearer nope", form: `{}`}, 401, secevent.ErrCodeAuthentication},
		{"GET", req{method: "GET", basic: basic(rs.id, rs.secret)}, 405, "invalid_request"},
		{"a form body", req{basic: basic(rs.id, rs.secret), form: "returnImmediately=true", contentType: "application/x-www-form-urlencoded"}, 400, "invalid_request"},
		{"not JSON", req{basic: basic(rs.id, rs.secret), form: `{"returnImmediately":`}, 400, "invalid_request"},
		{"not an object", req{basic: basic(rs.id, rs.secret), form: `[]`}, 400, "invalid_request"},
		{"a member twice", req{basic: basic(rs.id, rs.secret), form: `{"maxEvents":1,"maxEvents":100}`}, 400, "invalid_request"},
		{"a case-folded name", req{basic: basic(rs.id, rs.secret), form: `{"MAXEVENTS":1}`}, 400, "invalid_request"},
		{"a wrong type", req{basic: basic(rs.id, rs.secret), form: `{"returnImmediately":"yes"}`}, 400, "invalid_request"},
		{"negative maxEvents", req{basic: basic(rs.id, rs.secret), form: `{"maxEvents":-1}`}, 400, "invalid_request"},
		{"too big", req{basic: basic(rs.id, rs.secret), form: `{"cursor":"` + strings.Repeat("x", 70<<10) + `"}`}, 413, "invalid_request"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.path = "/events"
			if tt.r.contentType == "" {
				tt.r.contentType = "application/json"
			}
			a := e.do(tt.r)
			if a.status != tt.status {
				t.Fatalf("status %d %s, want %d", a.status, a.body, tt.status)
			}
			var se secevent.SetError
			if err := json.Unmarshal([]byte(a.body), &se); err != nil || se.Err != tt.err {
				t.Errorf("body %s, want err %q (RFC 8936 §2.6)", a.body, tt.err)
			}
			if tt.status == 401 && a.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// The bearer token with the introspection scope is let in.
	if a := e.do(req{path: "/events", rawAuth: "Bearer " + withScope, form: `{"returnImmediately":true}`, contentType: "application/json"}); a.status != 200 {
		t.Errorf("bearer with the introspection scope: %d %s", a.status, a.body)
	}
}

// TestEventsCursor: the log read from its start, in batches of maxEvents
// with moreAvailable, from the cursor; a cursor that cannot be placed is
// answered as if absent.
func TestEventsCursor(t *testing.T) {
	for name, st := range stores {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, st(t))
			rs := e.register(provider.ClientSpec{Name: "rs", Introspection: store.IntrospectAny})
			app := e.register(provider.ClientSpec{Name: "app"})
			var tokens []string
			for range 3 {
				tokens = append(tokens, e.token(app))
			}
			empty := e.poll(rs, `{"returnImmediately":true}`)
			if empty.status != 200 || len(empty.resp.Sets) != 0 || empty.resp.MoreAvailable || !strings.HasSuffix(empty.resp.Cursor, ":0") {
				t.Fatalf("before any revocation: %d %s", empty.status, empty.body)
			}
			for _, tok := range tokens {
				if err := e.p.Revoke(context.Background(), tok); err != nil {
					t.Fatal(err)
				}
			}
			first := e.poll(rs, `{"returnImmediately":true,"maxEvents":2}`)
			if len(first.resp.Sets) != 2 || !first.resp.MoreAvailable {
				t.Fatalf("maxEvents 2: %s", first.body)
			}
			rest := e.poll(rs, `{"returnImmediately":true,"cursor":"`+first.resp.Cursor+`"}`)
			if len(rest.resp.Sets) != 1 || rest.resp.MoreAvailable {
				t.Fatalf("from the cursor: %s", rest.body)
			}
			got := append(first.hashes(), rest.hashes()...)
			slices.Sort(got)
			if want := sortedHashes(tokens...); !slices.Equal(got, want) {
				t.Errorf("token_sha256 %v, want %v", got, want)
			}
			for _, ev := range rest.events {
				if ev.Reason != secevent.ReasonAdmin || ev.TokenJTI != "" {
					t.Errorf("event %+v; want reason admin (Provider.Revoke), no token_jti (opaque)", ev)
				}
			}
			end := e.poll(rs, `{"returnImmediately":true,"cursor":"`+rest.resp.Cursor+`"}`)
			if len(end.resp.Sets) != 0 || end.resp.Cursor != rest.resp.Cursor || end.resp.MoreAvailable {
				t.Errorf("at the end: %s; want no SET and the same cursor", end.body)
			}
			again := e.poll(rs, `{"returnImmediately":true}`)
			if !slices.Equal(sortedKeys(again.resp.Sets), slices.Sorted(maps.Keys(mergeMaps(first.resp.Sets, rest.resp.Sets)))) {
				t.Error("the jti of an event changed between two deliveries")
			}
			logID, _, _ := strings.Cut(rest.resp.Cursor, ":")
			for _, cursor := range []string{"garbage", "otherlog:1", logID + ":99", logID + ":-1", logID + ":x", ":", ""} {
				a := e.poll(rs, `{"returnImmediately":true,"cursor":"`+cursor+`"}`)
				if a.status != 200 || len(a.resp.Sets) != 3 {
					t.Errorf("cursor %q: %d, %d SETs; want the whole log (as if absent)", cursor, a.status, len(a.resp.Sets))
				}
			}
			if a := e.poll(rs, `{"returnImmediately":true,"maxEvents":0}`); a.status != 200 || len(a.resp.Sets) != 0 {
				t.Errorf("maxEvents 0: %d %s; want 200 and no SET", a.status, a.body)
			}
			if a := e.poll(rs, `{"returnImmediately":true,"maxEvents":1000,"ack":["x"],"setErrs":{"x":{"err":"invalid_key","description":"d"}}}`); a.status != 200 || len(a.resp.Sets) != 3 {
				t.Errorf("maxEvents 1000 with ack and setErrs: %d %s", a.status, a.body)
			}
		})
	}
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

func mergeMaps(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// TestEventsAudience: a client receives only the SETs about tokens it may
// introspect, and its cursor moves past the others.
func TestEventsAudience(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	orders := e.register(provider.ClientSpec{Name: "orders", Introspection: store.IntrospectOwnAudience, Resources: []string{"https://orders.example/"}})
	any := e.register(provider.ClientSpec{Name: "any", Introspection: store.IntrospectAny})
	app := e.register(provider.ClientSpec{Name: "app", Resources: []string{"https://orders.example/", "https://billing.example/"}})
	forOrders := e.token(app, "resource", "https://orders.example/")
	forBilling := e.token(app, "resource", "https://billing.example/")
	for _, tok := range []string{forBilling, forOrders} {
		if a := e.do(req{path: "/revoke", basic: basic(app.id, app.secret), form: form("token", tok)}); a.status != 200 {
			t.Fatal(a.body)
		}
	}
	a := e.poll(orders, `{"returnImmediately":true}`)
	if got := a.hashes(); !slices.Equal(got, sortedHashes(forOrders)) {
		t.Errorf("orders received %v; want only its own token's event", got)
	}
	for _, ev := range a.events {
		if ev.Reason != secevent.ReasonRevoked {
			t.Errorf("reason %q, want revoked (RFC 7009)", ev.Reason)
		}
	}
	if got := e.poll(any, `{"returnImmediately":true}`).hashes(); !slices.Equal(got, sortedHashes(forOrders, forBilling)) {
		t.Errorf("a client that may introspect any token received %v; want both", got)
	}
	// Only the billing token's event follows: the cursor passes it.
	b := e.poll(orders, `{"returnImmediately":true,"cursor":"`+a.resp.Cursor+`"}`)
	c := e.poll(orders, `{"returnImmediately":true,"cursor":"`+b.resp.Cursor+`"}`)
	if len(b.resp.Sets)+len(c.resp.Sets) != 0 || b.resp.Cursor != c.resp.Cursor {
		t.Errorf("after its event: %s then %s", b.body, c.body)
	}
}

// TestEventsJWTAccessToken: the event of a JWT access token carries its
// jti.
func TestEventsJWTAccessToken(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	rs := e.register(provider.ClientSpec{Name: "rs", Introspection: store.IntrospectAny})
	app := e.register(provider.ClientSpec{Name: "app", JWTAccessTokens: true, Resources: []string{"https://api.example/"}})
	tok := e.token(app)
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		JTI string `json:"jti"`
		Exp int64  `json:"exp"`
	}
	json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims)
	if err := e.p.Revoke(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	events := e.poll(rs, `{"returnImmediately":true}`).events
	if len(events) != 1 {
		t.Fatalf("%d events, want 1", len(events))
	}
	for _, ev := range events {
		if ev.TokenJTI != claims.JTI || ev.TokenExp != claims.Exp || ev.TokenSHA256 != secevent.TokenHash(tok) {
			t.Errorf("event %+v; want token_jti %s, token_exp %d", ev, claims.JTI, claims.Exp)
		}
	}
}

// TestEventsLongPoll: a held poll is answered when a token is revoked — in
// this process, or in another one sharing the store — and when nothing
// comes, it is held.
func TestEventsLongPoll(t *testing.T) {
	path := t.TempDir() + "/tokengate.db"
	e := newEnv(t, sqliteStoreAt(t, path))
	other := newEnv(t, sqliteStoreAt(t, path)) // another replica
	rs := e.register(provider.ClientSpec{Name: "rs", Introspection: store.IntrospectAny})
	app := e.register(provider.ClientSpec{Name: "app"})
	start := e.poll(rs, `{"returnImmediately":true}`)
	for name, revoker := range map[string]*env{"this replica": e, "another replica": other} {
		tok := e.token(app)
		done := make(chan pollAnswer, 1)
		go func() { done <- e.poll(rs, `{"cursor":"`+start.resp.Cursor+`"}`) }()
		select {
		case a := <-done:
			t.Fatalf("%s: a poll with nothing to send was answered at once: %s", name, a.body)
		case <-time.After(300 * time.Millisecond):
		}
		if err := revoker.p.Revoke(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		select {
		case a := <-done:
			if !slices.Equal(a.hashes(), sortedHashes(tok)) {
				t.Fatalf("%s: held poll answered %s", name, a.body)
			}
			start = a
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the held poll was not woken by the revocation", name)
		}
	}
}

// TestEventsHeldPollsBounded: beyond Config.MaxHeldPolls, a poll is
// answered 503 with Retry-After; a poll that returns at once is not held.
func TestEventsHeldPollsBounded(t *testing.T) {
	e := newEnv(t, store.NewMemory(), func(c *provider.Config) { c.MaxHeldPolls = 1 })
	rs := e.register(provider.ClientSpec{Name: "rs", Introspection: store.IntrospectAny})
	app := e.register(provider.ClientSpec{Name: "app"})
	// Of two long polls with nothing to send, one is held and the other
	// refused, whichever comes first.
	answers := make(chan pollAnswer, 2)
	for range 2 {
		go func() { answers <- e.poll(rs, `{}`) }()
	}
	var refused pollAnswer
	select {
	case refused = <-answers:
	case <-time.After(10 * time.Second):
		t.Fatal("no poll was refused")
	}
	if refused.status != http.StatusServiceUnavailable || refused.header.Get("Retry-After") == "" {
		t.Errorf("the second held poll: %d %s, Retry-After %q; want 503 with Retry-After", refused.status, refused.body, refused.header.Get("Retry-After"))
	}
	if a := e.poll(rs, `{"returnImmediately":true}`); a.status != 200 {
		t.Errorf("returnImmediately while a poll is held: %d", a.status)
	}
	if err := e.p.Revoke(context.Background(), e.token(app)); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-answers:
		if a.status != 200 || len(a.resp.Sets) != 1 {
			t.Errorf("the held poll: %d %s", a.status, a.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the held poll was not woken")
	}
}

// TestEventsEveryRevocation: each way of revoking emits one event per
// access token it revokes — none for refresh tokens, none twice — with its
// reason.
func TestEventsEveryRevocation(t *testing.T) {
	ctx := context.Background()
	e := newSignInEnv(t, store.NewMemory())
	rs := e.register(provider.ClientSpec{Name: "rs", Introspection: store.IntrospectAny})
	r := e.newRP(provider.ClientSpec{Scopes: []string{"openid", "offline_access"}})
	cursor := e.poll(rs, `{"returnImmediately":true}`).resp.Cursor
	// since returns the events after the cursor, and moves it.
	since := func(t *testing.T) pollAnswer {
		t.Helper()
		a := e.poll(rs, `{"returnImmediately":true,"cursor":"`+cursor+`"}`)
		if a.status != 200 {
			t.Fatalf("poll: %d %s", a.status, a.body)
		}
		cursor = a.resp.Cursor
		return a
	}
	check := func(t *testing.T, a pollAnswer, reason string, tokens ...string) {
		t.Helper()
		if got := a.hashes(); !slices.Equal(got, sortedHashes(tokens...)) {
			t.Errorf("events for %v, want for %v", got, sortedHashes(tokens...))
		}
		for _, ev := range a.events {
			if ev.Reason != reason {
				t.Errorf("reason %q, want %q", ev.Reason, reason)
			}
		}
	}
	signIn := func(t *testing.T) (code string) {
		return e.signIn(e.newBrowser(), r, "scope", "openid offline_access")
	}

	t.Run("refresh token reuse revokes the grant", func(t *testing.T) {
		access1, refresh1, _ := e.exchange(r, signIn(t)).tokens(t)
		access2, _, _ := e.refresh(r, refresh1).tokens(t)
		if code := e.refresh(r, refresh1).oauthErr(t); code != "invalid_grant" {
			t.Fatalf("reuse: %s", code)
		}
		check(t, since(t), secevent.ReasonRefreshTokenReuse, access1, access2)
	})
	t.Run("code reuse revokes the grant", func(t *testing.T) {
		code := signIn(t)
		access, _, _ := e.exchange(r, code).tokens(t)
		if c := e.exchange(r, code).oauthErr(t); c != "invalid_grant" {
			t.Fatalf("reuse: %s", c)
		}
		check(t, since(t), secevent.ReasonGrantRevoked, access)
	})
	t.Run("RFC 7009 revocation of a refresh token revokes the grant", func(t *testing.T) {
		access, refresh, _ := e.exchange(r, signIn(t)).tokens(t)
		if a := e.do(req{path: "/revoke", basic: basic(r.client.id, r.client.secret), form: form("token", refresh)}); a.status != 200 {
			t.Fatal(a.body)
		}
		check(t, since(t), secevent.ReasonRevoked, access)
		if a := e.do(req{path: "/revoke", basic: basic(r.client.id, r.client.secret), form: form("token", access)}); a.status != 200 {
			t.Fatal(a.body)
		}
		check(t, since(t), secevent.ReasonRevoked) // revoked already: no second event
	})
	t.Run("consent revoked", func(t *testing.T) {
		access, _, _ := e.exchange(r, signIn(t)).tokens(t)
		if n, err := e.p.Admin().RevokeConsent(ctx, "alice-sub", r.client.id); err != nil || n != 2 {
			t.Fatalf("RevokeConsent = %d, %v; want 2 (an access and a refresh token)", n, err)
		}
		check(t, since(t), secevent.ReasonGrantRevoked, access)
	})
	t.Run("client deleted", func(t *testing.T) {
		app := e.register(provider.ClientSpec{Name: "app"})
		t1, t2 := e.token(app), e.token(app)
		if err := e.p.Admin().DeleteClient(ctx, app.id); err != nil {
			t.Fatal(err)
		}
		check(t, since(t), secevent.ReasonClientDeleted, t1, t2)
	})
	t.Run("ending sessions revokes nothing", func(t *testing.T) {
		e.exchange(r, signIn(t)).tokens(t)
		if _, err := e.p.Admin().EndSessions(ctx, "alice-sub"); err != nil {
			t.Fatal(err)
		}
		check(t, since(t), "")
	})
}

// TestEventsRetention: an event is delivered while its token could still
// be accepted, and swept with it; the sweep deletes them in batches.
func TestEventsRetention(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	e := newEnv(t, st, func(c *provider.Config) { c.ManualSweep = true; c.SweepBatchSize = 2 })
	rs := e.register(provider.ClientSpec{Name: "rs", Introspection: store.IntrospectAny})
	app := e.register(provider.ClientSpec{Name: "app", TokenLifetime: 10 * time.Minute})
	for range 5 {
		if err := e.p.Revoke(ctx, e.token(app)); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Add(10*time.Minute + secevent.RetainAfterExp - time.Second)
	if a := e.poll(rs, `{"returnImmediately":true}`); len(a.resp.Sets) != 5 {
		t.Errorf("within 5 minutes after the tokens expired: %d SETs, want 5", len(a.resp.Sets))
	}
	if _, err := e.p.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, events, _ := st.Events(ctx, 0, 10); len(events) != 5 {
		t.Errorf("the sweep deleted events that still matter: %d left", len(events))
	}
	e.clock.Add(2 * time.Second)
	if a := e.poll(rs, `{"returnImmediately":true}`); len(a.resp.Sets) != 0 {
		t.Errorf("after: %d SETs, want none", len(a.resp.Sets))
	}
	if _, err := e.p.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if log, events, _ := st.Events(ctx, 0, 10); len(events) != 0 || log.Head != 5 {
		t.Errorf("after the sweep: %d events, head %d; want none, head 5", len(events), log.Head)
	}
}

// TestEventsCloseAnswersHeldPolls: Close answers the polls held (no SET,
// the same cursor), so that a server shutting down need not wait for
// them; later polls are not held.
func TestEventsCloseAnswersHeldPolls(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	rs := e.register(provider.ClientSpec{Name: "rs", Introspection: store.IntrospectAny})
	start := e.poll(rs, `{"returnImmediately":true}`)
	held := make(chan pollAnswer, 1)
	go func() { held <- e.poll(rs, `{"cursor":"`+start.resp.Cursor+`"}`) }()
	time.Sleep(200 * time.Millisecond)
	e.p.Close()
	for _, a := range []pollAnswer{waitPoll(t, held), e.poll(rs, `{"cursor":"`+start.resp.Cursor+`"}`)} {
		if a.status != 200 || len(a.resp.Sets) != 0 || a.resp.Cursor != start.resp.Cursor {
			t.Errorf("after Close: %d %s; want 200, no SET, the same cursor", a.status, a.body)
		}
	}
}

func waitPoll(t *testing.T, c <-chan pollAnswer) pollAnswer {
	t.Helper()
	select {
	case a := <-c:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("the held poll was not answered")
		return pollAnswer{}
	}
}
