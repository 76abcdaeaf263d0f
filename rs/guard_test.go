package rs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/rs/rstest"
	"github.com/tokengate/tokengate/scopes"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

const (
	api    = "https://api.example.com"
	issuer = "https://as.example.com"
)

func active(mut func(r *introspect.Response)) rstest.Answer {
	r := rstest.Active("alice", "app", "orders:read profile", now.Add(time.Hour), api)
	r.Issuer = issuer
	if mut != nil {
		mut(r)
	}
	return rstest.Answer{Response: r}
}

func fake() rstest.Introspector {
	return rstest.Introspector{
		"good":            active(nil),
		"inactive":        {Err: fmt.Errorf("wrapped: %w", introspect.ErrInactive)},
		"inactive-resp":   {Response: &introspect.Response{Active: false}},
		"expired":         active(func(r *introspect.Response) { r.Expiry = now.Add(-time.Minute) }),
		"expired-in-skew": active(func(r *introspect.Response) { r.Expiry = now.Add(-10 * time.Second) }),
		"no-exp":          active(func(r *introspect.Response) { r.Expiry = time.Time{} }),
		"future":          active(func(r *introspect.Response) { r.NotBefore = now.Add(time.Minute) }),
		"nbf-in-skew":     active(func(r *introspect.Response) { r.NotBefore = now.Add(10 * time.Second) }),
		"wrong-aud":       active(func(r *introspect.Response) { r.Audience = []string{"https://other.example.com"} }),
		"no-aud":          active(func(r *introspect.Response) { r.Audience = nil }),
		"multi-aud":       active(func(r *introspect.Response) { r.Audience = []string{"x", api} }),
		"wrong-iss":       active(func(r *introspect.Response) { r.Issuer = "https://evil.example.com" }),
		"no-iss":          active(func(r *introspect.Response) { r.Issuer = "" }),
		"wrong-client":    active(func(r *introspect.Response) { r.ClientID = "intruder" }),
		"dpop":            active(func(r *introspect.Response) { r.TokenType = "DPoP" }),
		"cnf-jkt": active(func(r *introspect.Response) {
			r.Confirmation = json.RawMessage(`{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}`)
		}),
		"cnf-x5t": active(func(r *introspect.Response) {
			r.Confirmation = json.RawMessage(`{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}`)
		}),
		"cnf-garbage":    active(func(r *introspect.Response) { r.Confirmation = json.RawMessage(`"x"`) }),
		"cnf-empty":      active(func(r *introspect.Response) { r.Confirmation = json.RawMessage(`{}`) }),
		"cnf-null":       active(func(r *introspect.Response) { r.Confirmation = json.RawMessage(`null`) }),
		"mac":            active(func(r *introspect.Response) { r.TokenType = "mac" }),
		"bearer-lower":   active(func(r *introspect.Response) { r.TokenType = "bearer" }),
		"no-type":        active(func(r *introspect.Response) { r.TokenType = "" }),
		"bad-scope":      active(func(r *introspect.Response) { r.Scope = "orders:read\tprofile" }),
		"no-scope":       active(func(r *introspect.Response) { r.Scope = "" }),
		"down-hint":      {Err: &introspect.Error{StatusCode: 503, RetryAfter: 30 * time.Second}},
		"down-subsecond": {Err: &introspect.Error{StatusCode: 429, RetryAfter: 1500 * time.Millisecond}},
		"down":           {Err: fmt.Errorf("dial tcp: connection refused: %w", introspect.ErrUnavailable)},
		"as-rejected-us": {Err: &introspect.Error{StatusCode: 401, Code: "invalid_client", Description: "bad secret \"s3cr3t\""}},
		"malformed":      {Err: fmt.Errorf("%w: not JSON", introspect.ErrMalformedResponse)},
		"nil-nil":        {},
		"odd-error":      {Err: errors.New("signature invalid <script>")},
		"canceled":       {Err: context.Canceled},
	}
}

func newGuard(t testing.TB, mut func(c *rs.Config)) *rs.Guard {
	t.Helper()
	cfg := rs.Config{
		Introspector: fake(),
		Audiences:    []string{api},
		Issuers:      []string{issuer},
		ClientIDs:    []string{"app", "other-app"},
		Realm:        "api",
		Now:          func() time.Time { return now },
		Logger:       slog.New(slog.DiscardHandler),
	}
	if mut != nil {
		mut(&cfg)
	}
	g, err := rs.New(cfg)
	if err != nil {
		t.Fatalf("rs.New: %v", err)
	}
	return g
}

// answer is what a client sees.
type answer struct {
	status     int
	challenge  string
	retryAfter string
	body       string
}

func answerOf(g *rs.Guard, err error) answer {
	rec := httptest.NewRecorder()
	g.Reject(err).Write(rec)
	return answer{
		status:     rec.Code,
		challenge:  rec.Header().Get("WWW-Authenticate"),
		retryAfter: rec.Header().Get("Retry-After"),
		body:       rec.Body.String(),
	}
}

func invalidToken(desc string) answer {
	return answer{
		status:    401,
		challenge: `Bearer realm="api", error="invalid_token", error_description="` + desc + `"`,
		body:      `{"error":"invalid_token","error_description":"` + desc + `"}`,
	}
}

func invalidRequest(desc string) answer {
	return answer{
		status:    400,
		challenge: `Bearer realm="api", error="invalid_request", error_description="` + desc + `"`,
		body:      `{"error":"invalid_request","error_description":"` + desc + `"}`,
	}
}

func unavailable(retry string) answer {
	return answer{status: 503, retryAfter: retry, body: `{"error":"temporarily_unavailable","error_description":"the access token cannot be checked right now, retry later"}`}
}

var noToken = answer{status: 401, challenge: `Bearer realm="api"`}

func TestGuardPolicy(t *testing.T) {
	tests := []struct {
		token string
		kind  error  // nil: accepted
		want  answer // when rejected
	}{
		{token: "good"},
		{token: "expired-in-skew"},
		{token: "no-exp"},
		{token: "nbf-in-skew"},
		{token: "multi-aud"},
		{token: "cnf-empty"},
		{token: "cnf-null"},
		{token: "bearer-lower"},
		{token: "no-type"},
		{token: "no-scope"},
		{token: "unknown", kind: rs.ErrInvalidToken, want: invalidToken("the access token is not active")},
		{token: "inactive", kind: rs.ErrInvalidToken, want: invalidToken("the access token is not active")},
		{token: "inactive-resp", kind: rs.ErrInvalidToken, want: invalidToken("the access token is not active")},
		{token: "expired", kind: rs.ErrInvalidToken, want: invalidToken("the access token has expired")},
		{token: "future", kind: rs.ErrInvalidToken, want: invalidToken("the access token is not valid yet")},
		{token: "wrong-aud", kind: rs.ErrInvalidToken, want: invalidToken("the access token is not meant for this resource")},
		{token: "no-aud", kind: rs.ErrInvalidToken, want: invalidToken("the access token is not meant for this resource")},
		{token: "wrong-iss", kind: rs.ErrInvalidToken, want: invalidToken("the access token comes from an issuer that is not trusted")},
		{token: "no-iss", kind: rs.ErrInvalidToken, want: invalidToken("the access token comes from an issuer that is not trusted")},
		{token: "wrong-client", kind: rs.ErrInvalidToken, want: invalidToken("the access token was issued to a client that is not allowed")},
		{token: "dpop", kind: rs.ErrInvalidToken, want: invalidToken("sender-constrained access tokens are not supported")},
		{token: "cnf-jkt", kind: rs.ErrInvalidToken, want: invalidToken("sender-constrained access tokens are not supported")},
		{token: "cnf-x5t", kind: rs.ErrInvalidToken, want: invalidToken("sender-constrained access tokens are not supported")},
		{token: "cnf-garbage", kind: rs.ErrInvalidToken, want: invalidToken("sender-constrained access tokens are not supported")},
		{token: "mac", kind: rs.ErrInvalidToken, want: invalidToken("the access token type is not accepted")},
		{token: "odd-error", kind: rs.ErrInvalidToken, want: invalidToken("the access token was rejected")},
		{token: "bad-scope", kind: rs.ErrUnavailable, want: unavailable("5")},
		{token: "down", kind: rs.ErrUnavailable, want: unavailable("5")},
		{token: "down-hint", kind: rs.ErrUnavailable, want: unavailable("30")},
		{token: "down-subsecond", kind: rs.ErrUnavailable, want: unavailable("2")},
		{token: "as-rejected-us", kind: rs.ErrUnavailable, want: unavailable("5")},
		{token: "malformed", kind: rs.ErrUnavailable, want: unavailable("5")},
		{token: "nil-nil", kind: rs.ErrUnavailable, want: unavailable("5")},
		{token: "canceled", kind: rs.ErrUnavailable, want: unavailable("5")},
	}
	g := newGuard(t, nil)
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tt.token)
			p, err := g.Check(r, scopes.Requirement{})
			if tt.kind == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if p == nil || p.Subject != "alice" || p.ClientID != "app" || p.Response == nil {
					t.Fatalf("principal = %+v", p)
				}
				return
			}
			if p != nil {
				t.Fatalf("rejected token returned a principal %+v", p)
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want %v", err, tt.kind)
			}
			var e *rs.Error
			if !errors.As(err, &e) {
				t.Fatalf("err %T is not an *rs.Error", err)
			}
			if got := answerOf(g, err); got != tt.want {
				t.Errorf("answer:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPrincipal(t *testing.T) {
	g := newGuard(t, nil)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "bEaReR good")
	p, err := g.Check(r, scopes.All("orders:read"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "alice" || p.ClientID != "app" || p.Scopes.String() != "orders:read profile" ||
		p.Issuer != issuer || !p.Expiry.Equal(now.Add(time.Hour)) || len(p.Audience) != 1 || p.Audience[0] != api {
		t.Errorf("principal = %+v", p)
	}
	got, ok := rs.PrincipalFrom(rs.RequestWithPrincipal(r, p).Context())
	if !ok || got != p {
		t.Errorf("PrincipalFrom = %v, %v", got, ok)
	}
	if _, ok := rs.PrincipalFrom(context.Background()); ok {
		t.Error("PrincipalFrom found a principal in an empty context")
	}
	if got := rs.RequestWithPrincipal(r, nil); got != r {
		t.Error("RequestWithPrincipal copied the request for no principal")
	}
	if _, ok := rs.PrincipalFrom(rs.RequestWithPrincipal(r, nil).Context()); ok {
		t.Error("PrincipalFrom reported a nil principal")
	}
	if with := rs.RequestWithPrincipal(r, p); rs.RequestWithPrincipal(with, p) != with {
		t.Error("RequestWithPrincipal copied a request that already carries the principal")
	}
}

// countingIntrospector counts calls, to prove nested checks reuse a verdict.
type countingIntrospector struct {
	rs.Introspector
	calls int
}

func (c *countingIntrospector) Introspect(ctx context.Context, token string) (*introspect.Response, error) {
	c.calls++
	return c.Introspector.Introspect(ctx, token)
}

func TestCheckReusesPrincipalOfSameGuard(t *testing.T) {
	ci := &countingIntrospector{Introspector: fake()}
	g := newGuard(t, func(c *rs.Config) { c.Introspector = ci })
	other := newGuard(t, func(c *rs.Config) { c.Introspector = ci })
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer good")
	p, err := g.Check(r, scopes.Requirement{})
	if err != nil {
		t.Fatal(err)
	}
	r = rs.RequestWithPrincipal(r, p)
	if _, err := g.Check(r, scopes.All("orders:read")); err != nil || ci.calls != 1 {
		t.Fatalf("nested check: err %v, %d introspections, want 1", err, ci.calls)
	}
	if _, err := other.Check(r, scopes.Requirement{}); err != nil || ci.calls != 2 {
		t.Fatalf("another guard must validate for itself: err %v, %d introspections", err, ci.calls)
	}
	// A principal forged into the context is not trusted.
	forged := rs.RequestWithPrincipal(r, &rs.Principal{Subject: "mallory"})
	forged.Header.Set("Authorization", "Bearer expired")
	if _, err := g.Check(forged, scopes.Requirement{}); !errors.Is(err, rs.ErrInvalidToken) {
		t.Fatalf("forged principal: err = %v", err)
	}
}

func TestAuthorize(t *testing.T) {
	tests := []struct {
		name     string
		strategy scopes.Strategy
		req      scopes.Requirement
		want     answer // zero: allowed
	}{
		{name: "zero requirement", req: scopes.Requirement{}},
		{name: "all met", req: scopes.All("orders:read", "profile")},
		{name: "any met", req: scopes.Any("orders:write", "orders:read")},
		{
			name: "missing", req: scopes.All("orders:write"),
			want: answer{
				status:    403,
				challenge: `Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`,
				body:      `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:write"}`,
			},
		},
		{
			name: "any missing", req: scopes.AllOf(scopes.Any("orders:admin", "support"), scopes.All("orders:read")),
			want: answer{
				status:    403,
				challenge: `Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope: (orders:admin or support) and orders:read", scope="orders:admin orders:read"`,
				body:      `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: (orders:admin or support) and orders:read"}`,
			},
		},
		{name: "hierarchic off", req: scopes.All("profile.email"), want: answer{
			status:    403,
			challenge: `Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope: profile.email", scope="profile.email"`,
			body:      `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: profile.email"}`,
		}},
		{name: "hierarchic on", strategy: scopes.Hierarchic, req: scopes.All("profile.email")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGuard(t, func(c *rs.Config) { c.Strategy = tt.strategy })
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer good")
			p, err := g.Check(r, tt.req)
			if tt.want.status == 0 {
				if err != nil || p == nil {
					t.Fatalf("Check = %v, %v", p, err)
				}
				return
			}
			if !errors.Is(err, rs.ErrInsufficientScope) {
				t.Fatalf("err = %v", err)
			}
			if got := answerOf(g, err); got != tt.want {
				t.Errorf("answer:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestAnonymous(t *testing.T) {
	g := newGuard(t, func(c *rs.Config) { c.AllowAnonymous = true })
	r := httptest.NewRequest("GET", "/", nil)
	if p, err := g.Check(r, scopes.Requirement{}); p != nil || err != nil {
		t.Errorf("anonymous, no requirement: %v, %v", p, err)
	}
	_, err := g.Check(r, scopes.All("orders:read"))
	if got := answerOf(g, err); got != noToken {
		t.Errorf("anonymous with requirement: %+v", got)
	}
	r.Header.Set("Authorization", "Bearer expired")
	if _, err := g.Check(r, scopes.Requirement{}); !errors.Is(err, rs.ErrInvalidToken) {
		t.Errorf("anonymous mode let a bad token through: %v", err)
	}
	r.Header.Set("Authorization", "Bearer")
	if _, err := g.Check(r, scopes.Requirement{}); !errors.Is(err, rs.ErrInvalidRequest) {
		t.Errorf("anonymous mode let a malformed header through: %v", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		mut     func(c *rs.Config)
		wantErr string
	}{
		{"ok", func(c *rs.Config) {}, ""},
		{"no introspector", func(c *rs.Config) { c.Introspector = nil }, "Introspector"},
		{"no audience", func(c *rs.Config) { c.Audiences = nil }, "Audiences"},
		{"skip audience", func(c *rs.Config) { c.Audiences = nil; c.SkipAudienceCheck = true }, ""},
		{"empty audience", func(c *rs.Config) { c.Audiences = []string{""} }, "Audiences"},
		{"empty issuer", func(c *rs.Config) { c.Issuers = []string{""} }, "Issuers"},
		{"empty client", func(c *rs.Config) { c.ClientIDs = []string{""} }, "ClientIDs"},
		{"dpop type", func(c *rs.Config) { c.TokenTypes = []string{"Bearer", "dpop"} }, "DPoP"},
		{"empty type", func(c *rs.Config) { c.TokenTypes = []string{""} }, "TokenTypes"},
		{"negative skew", func(c *rs.Config) { c.ClockSkew = -time.Second }, "ClockSkew"},
		{"bad strategy", func(c *rs.Config) { c.Strategy = 9 }, "Strategy"},
		{"realm with newline", func(c *rs.Config) { c.Realm = "a\r\nX-Evil: 1" }, "Realm"},
		{"realm non-ASCII", func(c *rs.Config) { c.Realm = "café" }, "Realm"},
		{"realm with quote is fine", func(c *rs.Config) { c.Realm = `my "api"` }, ""},
		{"relative metadata URL", func(c *rs.Config) { c.ResourceMetadataURL = "/.well-known/x" }, "ResourceMetadataURL"},
		{"metadata URL with quote", func(c *rs.Config) { c.ResourceMetadataURL = `https://a.example/"x` }, "ResourceMetadataURL"},
		{"metadata URL over http", func(c *rs.Config) { c.ResourceMetadataURL = "http://a.example/.well-known/oauth-protected-resource" }, "use https"},
		{"metadata URL with fragment", func(c *rs.Config) { c.ResourceMetadataURL = "https://a.example/.well-known/oauth-protected-resource#" }, "fragment"},
		{"metadata URL with user info", func(c *rs.Config) {
			c.ResourceMetadataURL = "https://u:p@a.example/.well-known/oauth-protected-resource"
		}, "credentials"},
		{"metadata URL on loopback", func(c *rs.Config) {
			c.ResourceMetadataURL = "http://127.0.0.1:8080/.well-known/oauth-protected-resource"
		}, ""},
		{"negative retry", func(c *rs.Config) { c.RetryAfter = -1 }, "RetryAfter"},
		{"negative form bytes", func(c *rs.Config) { c.Extractors = []rs.Extractor{rs.FromForm(-1)} }, "Extractors[0]: FromForm: maxBytes is negative"},
		{"extractor without function", func(c *rs.Config) { c.Extractors = []rs.Extractor{rs.FromQuery(), {Method: "body"}} }, "Extractors[1]"},
		{"extractor for the header", func(c *rs.Config) { c.Extractors = []rs.Extractor{{Method: "header", Extract: rs.FromQuery().Extract}} }, "Extractors[0].Method"},
		{"extractor of another method", func(c *rs.Config) { c.Extractors = []rs.Extractor{{Method: "cookie", Extract: rs.FromQuery().Extract}} }, "Extractors[0].Method"},
		{"two query extractors", func(c *rs.Config) { c.Extractors = []rs.Extractor{rs.FromQuery(), rs.FromForm(0), rs.FromQuery()} }, "Extractors[2]"},
		{"two unnamed extractors are fine", func(c *rs.Config) {
			c.Extractors = []rs.Extractor{{Extract: rs.FromQuery().Extract}, {Extract: rs.FromQuery().Extract}}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := rs.Config{Introspector: fake(), Audiences: []string{api}}
			tt.mut(&cfg)
			g, err := rs.New(cfg)
			if tt.wantErr == "" {
				if err != nil || g == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want one naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestChallengeQuoting(t *testing.T) {
	g := newGuard(t, func(c *rs.Config) {
		c.Realm = `say "hi" \o/`
		c.ResourceMetadataURL = "https://api.example.com/.well-known/oauth-protected-resource"
	})
	got := answerOf(g, &rs.Error{Kind: rs.ErrInvalidToken, Description: "bad \"quote\" \\ and\nnewline é"})
	want := answer{
		status:    401,
		challenge: `Bearer realm="say \"hi\" \\o/", error="invalid_token", error_description="bad quote  andnewline ", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`,
		body:      `{"error":"invalid_token","error_description":"bad quote  andnewline "}`,
	}
	if got != want {
		t.Errorf("answer:\n got %+v\nwant %+v", got, want)
	}
	if got := answerOf(g, rs.ErrNoToken); got.challenge != `Bearer realm="say \"hi\" \\o/", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"` || got.body != "" {
		t.Errorf("no token: %+v", got)
	}
	// RFC 6750 §3: "Bearer" MUST be followed by one or more auth-param
	// values, so a guard without Realm uses the default one.
	noRealm := newGuard(t, func(c *rs.Config) { c.Realm = "" })
	if got := answerOf(noRealm, rs.ErrNoToken); got.challenge != `Bearer realm="api"` {
		t.Errorf("no realm, no token: %q", got.challenge)
	}
	if got := answerOf(noRealm, rs.ErrInvalidRequest); got.challenge != `Bearer realm="api", error="invalid_request", error_description="the request is malformed"` {
		t.Errorf("no realm, bare sentinel: %q", got.challenge)
	}
}

func TestRejectHeaders(t *testing.T) {
	g := newGuard(t, nil)
	for _, err := range []error{rs.ErrNoToken, rs.ErrInvalidRequest, rs.ErrInvalidToken, rs.ErrInsufficientScope, rs.ErrUnavailable, errors.New("x")} {
		rec := httptest.NewRecorder()
		g.Reject(err).Write(rec)
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%v: Cache-Control = %q", err, rec.Header().Get("Cache-Control"))
		}
		if rec.Body.Len() > 0 {
			if rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("%v: Content-Type = %q", err, rec.Header().Get("Content-Type"))
			}
			var m map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || m["error"] == "" {
				t.Errorf("%v: body %q", err, rec.Body)
			}
		}
	}
	// An unknown error fails closed and its text never reaches the client.
	got := answerOf(g, errors.New("database password is hunter2"))
	if got.status != 401 || strings.Contains(got.body+got.challenge, "hunter2") {
		t.Errorf("unknown error: %+v", got)
	}
}

// TestLogsNeverSeeTheToken checks the error paths that log.
func TestLogsNeverSeeTheToken(t *testing.T) {
	var buf bytes.Buffer
	const secret = "c2VjcmV0LXRva2VuLXZhbHVl"
	in := rstest.Introspector{secret: {Err: &introspect.Error{StatusCode: 401, Code: "invalid_client"}}}
	g := newGuard(t, func(c *rs.Config) {
		c.Introspector = in
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+secret)
	_, err := g.Check(r, scopes.Requirement{})
	if !errors.Is(err, rs.ErrUnavailable) || !errors.Is(err, introspect.ErrASRejectedClient) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(buf.String(), "level=ERROR") || !strings.Contains(buf.String(), "token_sha256=") {
		t.Errorf("log does not report the configuration error: %s", buf.String())
	}
	if strings.Contains(buf.String(), secret) {
		t.Errorf("log contains the token: %s", buf.String())
	}
}

func TestMetadataHandler(t *testing.T) {
	g := newGuard(t, func(c *rs.Config) { c.Extractors = []rs.Extractor{rs.FromQuery()} })
	h, err := g.MetadataHandler(rs.ResourceMetadata{
		Resource:             "https://api.example.com/v1",
		AuthorizationServers: []string{issuer},
		ScopesSupported:      scopes.AllOf(scopes.All("orders:read"), scopes.Any("orders:write", "orders:read")).Scopes(),
		JWKSURI:              "https://api.example.com/jwks.json",
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/oauth-protected-resource/v1", nil))
	want := `{"resource":"https://api.example.com/v1","authorization_servers":["https://as.example.com"],"jwks_uri":"https://api.example.com/jwks.json","scopes_supported":["orders:read","orders:write"],"bearer_methods_supported":["header","query"]}`
	if rec.Code != 200 || rec.Body.String() != want || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("got %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	if rec.Code != 405 {
		t.Errorf("POST: %d", rec.Code)
	}

	// bearer_methods_supported lists what the guard really accepts, in the
	// order it tries them, and leaves out what RFC 9728 has no name for.
	for _, tt := range []struct {
		name       string
		extractors []rs.Extractor
		want       string
	}{
		{"header only", nil, `["header"]`},
		{"body", []rs.Extractor{rs.FromForm(0)}, `["header","body"]`},
		{"query and body", []rs.Extractor{rs.FromQuery(), rs.FromForm(1 << 10)}, `["header","query","body"]`},
		{"cookie", []rs.Extractor{{Extract: cookieExtractor}, rs.FromForm(0)}, `["header","body"]`},
	} {
		g := newGuard(t, func(c *rs.Config) { c.Extractors = tt.extractors })
		h, err := g.MetadataHandler(rs.ResourceMetadata{Resource: "http://127.0.0.1:8080"})
		if err != nil {
			t.Fatal(err)
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if want := `{"resource":"http://127.0.0.1:8080","bearer_methods_supported":` + tt.want + `}`; rec.Body.String() != want {
			t.Errorf("%s: got %s, want %s", tt.name, rec.Body, want)
		}
	}

	for _, bad := range []rs.ResourceMetadata{
		{},
		{Resource: "http://api.example.com"},
		{Resource: "https://api.example.com#frag"},
		{Resource: "/relative"},
		{Resource: api, AuthorizationServers: []string{"not a url"}},
		{Resource: api, JWKSURI: "ftp://x"},
		{Resource: api, JWKSURI: "http://api.example.com/jwks.json"},
		{Resource: api, AuthorizationServers: []string{"https://as.example.com?tenant=a"}},
		{Resource: api, AuthorizationServers: []string{"http://as.example.com"}},
		{Resource: api, ResourceDocumentation: "https://u:p@docs.example.com"},
		{Resource: "https://u:p@api.example.com"},
	} {
		if _, err := g.MetadataHandler(bad); err == nil {
			t.Errorf("MetadataHandler(%+v) accepted", bad)
		}
	}
}

func TestMetadataURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://api.example.com", "https://api.example.com/.well-known/oauth-protected-resource"},
		{"https://api.example.com/", "https://api.example.com/.well-known/oauth-protected-resource"},
		{"https://api.example.com/v1", "https://api.example.com/.well-known/oauth-protected-resource/v1"},
		{"https://api.example.com:8443/a/b/", "https://api.example.com:8443/.well-known/oauth-protected-resource/a/b"},
		{"http://localhost:8080", "http://localhost:8080/.well-known/oauth-protected-resource"},
		{"http://api.example.com", ""},
		{"https://api.example.com/#x", ""},
		{"api.example.com", ""},
	}
	for _, tt := range tests {
		got, err := rs.MetadataURL(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("MetadataURL(%q) = %q, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("MetadataURL(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestRejectClassification(t *testing.T) {
	g := newGuard(t, nil)
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"bare introspect unavailable", fmt.Errorf("x: %w", introspect.ErrUnavailable), 503},
		{"introspect AS error 502", &introspect.Error{StatusCode: 502}, 503},
		{"introspect rejected client", introspect.ErrASRejectedClient, 503},
		{"introspect malformed", introspect.ErrMalformedResponse, 503},
		{"introspect inactive", introspect.ErrInactive, 401},
		{"wrapped rs sentinel", fmt.Errorf("hook: %w", rs.ErrInsufficientScope), 403},
		{"kind wins over cause", &rs.Error{Kind: rs.ErrInvalidToken, Err: introspect.ErrUnavailable}, 401},
		{"outer kind wins", &rs.Error{Kind: rs.ErrInvalidRequest, Err: &rs.Error{Kind: rs.ErrUnavailable}}, 400},
		{"unknown", errors.New("x"), 401},
		{"nil kind", &rs.Error{Description: "x"}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := g.Reject(tt.err).Status; got != tt.status {
				t.Errorf("status = %d, want %d", got, tt.status)
			}
		})
	}
}

// TestAuthenticateAllocations: with an introspector that answers without
// allocating (as an introspect.Cache hit does), authenticating a
// request allocates the Principal and nothing else; the scope string is
// parsed once per guard, not once per request.
func TestAuthenticateAllocations(t *testing.T) {
	g := newGuard(t, nil)
	r := httptest.NewRequest("GET", "/orders", nil)
	r.Header.Set("Authorization", "Bearer good")
	if _, err := g.Check(r, scopes.Requirement{}); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := g.Check(r, scopes.Requirement{}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("Authenticate allocates %v times per request, want 1 (the Principal)", allocs)
	}
}

// TestOutageLogsAreRateLimited: when every request fails the same way (the
// authorization server is down, or refuses our credentials), the guard logs
// one line per kind every 10 seconds, saying how many it held back, rather
// than one per request.
func TestOutageLogsAreRateLimited(t *testing.T) {
	var buf bytes.Buffer
	clock := now
	g := newGuard(t, func(c *rs.Config) {
		c.Introspector = rstest.Introspector{
			"down":    {Err: &introspect.Error{StatusCode: 503}},
			"misconf": {Err: &introspect.Error{StatusCode: 401, Code: "invalid_client"}},
		}
		c.Now = func() time.Time { return clock }
		c.Logger = slog.New(slog.NewTextHandler(&buf, nil))
	})
	check := func(token string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		if _, err := g.Check(r, scopes.Requirement{}); !errors.Is(err, rs.ErrUnavailable) {
			t.Fatalf("%s: err = %v, want ErrUnavailable", token, err)
		}
	}
	for range 10 {
		check("down")
		check("misconf")
	}
	if w, e := strings.Count(buf.String(), "level=WARN"), strings.Count(buf.String(), "level=ERROR"); w != 1 || e != 1 {
		t.Fatalf("%d warnings and %d errors for 10 requests each, want 1 and 1:\n%s", w, e, buf.String())
	}
	buf.Reset()
	clock = clock.Add(10 * time.Second)
	check("down")
	check("misconf")
	if got := buf.String(); strings.Count(got, "suppressed_since_last=9") != 2 {
		t.Errorf("after 10s, want one warning and one error each reporting 9 held back:\n%s", got)
	}
}

// TestErrorBody: Config.ErrorBody replaces the body of every answer, and
// only the body: status, challenge, Retry-After and Cache-Control stay
// those of RFC 6750.
func TestErrorBody(t *testing.T) {
	g := newGuard(t, func(c *rs.Config) {
		c.ErrorBody = func(rj *rs.Rejection) (string, []byte) {
			if errors.Is(rj.Err, rs.ErrNoToken) {
				return "text/plain", nil
			}
			return "application/problem+json", fmt.Appendf(nil, `{"status":%d,"code":%q,"detail":%q}`, rj.Status, rj.Code, rj.Description)
		}
	})
	tests := []struct {
		token                   string
		req                     scopes.Requirement
		status                  int
		challenge, retry, ctype string
		body                    string
	}{
		{"", scopes.Requirement{}, 401, `Bearer realm="api"`, "", "", ""},
		{"expired", scopes.Requirement{}, 401, `Bearer realm="api", error="invalid_token", error_description="the access token has expired"`, "", "application/problem+json",
			`{"status":401,"code":"invalid_token","detail":"the access token has expired"}`},
		{"good", scopes.All("orders:write"), 403, `Bearer realm="api", error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`, "", "application/problem+json",
			`{"status":403,"code":"insufficient_scope","detail":"the access token lacks the required scope: orders:write"}`},
		{"two words", scopes.Requirement{}, 400, `Bearer realm="api", error="invalid_request", error_description="the access token is not a b64token"`, "", "application/problem+json",
			`{"status":400,"code":"invalid_request","detail":"the access token is not a b64token"}`},
		{"down-hint", scopes.Requirement{}, 503, "", "30", "application/problem+json",
			`{"status":503,"code":"temporarily_unavailable","detail":"the access token cannot be checked right now, retry later"}`},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.token != "" {
				r.Header.Set("Authorization", "Bearer "+tt.token)
			}
			_, err := g.Check(r, tt.req)
			rec := httptest.NewRecorder()
			g.Reject(err).Write(rec)
			h := rec.Header()
			if rec.Code != tt.status || h.Get("WWW-Authenticate") != tt.challenge || h.Get("Retry-After") != tt.retry ||
				h.Get("Cache-Control") != "no-store" || h.Get("Content-Type") != tt.ctype || rec.Body.String() != tt.body {
				t.Errorf("got %d %v %q", rec.Code, h, rec.Body)
			}
			if cl := h.Get("Content-Length"); tt.body != "" && cl != fmt.Sprint(len(tt.body)) {
				t.Errorf("Content-Length = %q for %d bytes", cl, len(tt.body))
			}
		})
	}
}

// TestValidityBoundaries: with the default 30 s skew, a token is valid for
// nbf−30s ≤ now < exp+30s, to the nanosecond (tokeninfo's ValidAt, which
// rs and the introspection cache share).
func TestValidityBoundaries(t *testing.T) {
	skew := rs.DefaultClockSkew
	tests := []struct {
		name string
		mut  func(r *introspect.Response)
		want error // nil: accepted
	}{
		{"exp+skew is now", func(r *introspect.Response) { r.Expiry = now.Add(-skew) }, rs.ErrInvalidToken},
		{"exp+skew is 1ns ahead", func(r *introspect.Response) { r.Expiry = now.Add(-skew + time.Nanosecond) }, nil},
		{"nbf-skew is now", func(r *introspect.Response) { r.NotBefore = now.Add(skew) }, nil},
		{"nbf-skew is 1ns ahead", func(r *introspect.Response) { r.NotBefore = now.Add(skew + time.Nanosecond) }, rs.ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGuard(t, func(c *rs.Config) { c.Introspector = rstest.Introspector{"tok": active(tt.mut)} })
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer tok")
			p, err := g.Check(r, scopes.Requirement{})
			if tt.want == nil && (err != nil || p == nil) || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Check = %v, %v; want %v", p, err, tt.want)
			}
		})
	}
}
