package dpop_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/dpop"
	"github.com/tokengate/tokengate/dpop/dpoptest"
)

var (
	now    = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	target = "https://api.example.com/orders"
	token  = "Kz~8qR.tokens/4+all="
)

// keys are generated once: RSA generation is slow.
var (
	keysOnce sync.Once
	keys     map[string]*dpoptest.Key
)

func key(alg string) *dpoptest.Key {
	keysOnce.Do(func() {
		keys = map[string]*dpoptest.Key{}
		for _, a := range []string{"ES256", "EdDSA", "RS256", "PS256"} {
			keys[a] = dpoptest.NewKey(a)
		}
	})
	return keys[alg]
}

func newVerifier(t testing.TB, cfg dpop.Config) *dpop.Verifier {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	v, err := dpop.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type verifyTest struct {
	name string
	// proof builds the proof from a valid header and claims, which it may
	// change; nil means a valid ES256 proof.
	proof  func(k *dpoptest.Key, h, c map[string]any) string
	method string // default GET
	url    string // default target
	token  string // default token
	jkt    string // default the key's thumbprint
	want   error  // nil: accepted
}

func (tt verifyTest) run(t *testing.T, v *dpop.Verifier, k *dpoptest.Key) {
	h, c := k.Header(), k.Claims("GET", target, token, now)
	proof := k.Sign(h, c)
	if tt.proof != nil {
		proof = tt.proof(k, h, c)
	}
	req := dpop.ProofRequest{Method: "GET", URL: target, AccessToken: token}
	if tt.method != "" {
		req.Method = tt.method
	}
	if tt.url != "" {
		req.URL = tt.url
	}
	if tt.token != "" {
		req.AccessToken = tt.token
	}
	jkt := k.JKT()
	if tt.jkt != "" {
		jkt = tt.jkt
	}
	err := v.Verify(context.Background(), proof, req, jkt)
	if tt.want == nil {
		if err != nil {
			t.Fatalf("Verify: %v, want success", err)
		}
		return
	}
	if !errors.Is(err, tt.want) {
		t.Fatalf("Verify: %v, want %v", err, tt.want)
	}
	if !errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("Verify: %v does not match ErrInvalidProof", err)
	}
}

func set(m map[string]any, k string, v any) map[string]any {
	if v == nil {
		delete(m, k)
	} else {
		m[k] = v
	}
	return m
}

func TestVerify(t *testing.T) {
	other := dpoptest.NewKey("ES256")
	tests := []verifyTest{
		{name: "valid"},
		{name: "typ missing", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(set(h, "typ", nil), c) }, want: dpop.ErrInvalidProof},
		{name: "typ JWT", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(set(h, "typ", "JWT"), c) }, want: dpop.ErrInvalidProof},
		{name: "typ case-insensitive", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(set(h, "typ", "DPoP+JWT"), c) }},
		{name: "alg none", proof: func(k *dpoptest.Key, h, c map[string]any) string { return dpoptest.Unsigned(set(h, "alg", "none"), c) }, want: dpop.ErrInvalidProof},
		{name: "alg missing", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(set(h, "alg", nil), c) }, want: dpop.ErrInvalidProof},
		{
			name: "HS256 keyed with the public jwk",
			proof: func(k *dpoptest.Key, h, c map[string]any) string {
				return dpoptest.HMAC(set(h, "alg", "HS256"), c, []byte(fmt.Sprint(h["jwk"])))
			},
			want: dpop.ErrInvalidProof,
		},
		{
			name: "HS256 with an oct jwk",
			proof: func(k *dpoptest.Key, h, c map[string]any) string {
				h = set(h, "alg", "HS256")
				h["jwk"] = map[string]any{"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}
				return dpoptest.HMAC(h, c, []byte("secret-secret-secret-secret-secret"))
			},
			want: dpop.ErrInvalidProof,
		},
		{name: "alg of another key type", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(set(h, "alg", "RS256"), c) }, want: dpop.ErrInvalidProof},
		{name: "no jwk", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(set(h, "jwk", nil), c) }, want: dpop.ErrInvalidProof},
		{name: "private key in jwk", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(set(h, "jwk", k.PrivateJWK()), c) }, want: dpop.ErrInvalidProof},
		{name: "jwk of another key", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(set(h, "jwk", other.PublicJWK()), c) }, want: dpop.ErrInvalidProof},
		{
			name: "bad signature",
			proof: func(k *dpoptest.Key, h, c map[string]any) string {
				p := k.Sign(h, c)
				i := strings.LastIndexByte(p, '.')
				sig := []byte(p[i+1:])
				sig[3] ^= 'A' ^ 'B'
				if sig[3] == p[i+4] {
					sig[3] = 'C'
				}
				return p[:i+1] + string(sig)
			},
			want: dpop.ErrInvalidProof,
		},
		{
			name: "claims changed after signing",
			proof: func(k *dpoptest.Key, h, c map[string]any) string {
				p := k.Sign(h, c)
				forged := k.Sign(h, set(c, "htm", "POST"))
				parts, fparts := strings.Split(p, "."), strings.Split(forged, ".")
				return parts[0] + "." + fparts[1] + "." + parts[2]
			},
			method: "POST",
			want:   dpop.ErrInvalidProof,
		},
		{name: "not a JWS", proof: func(*dpoptest.Key, map[string]any, map[string]any) string { return "not-a-jws" }, want: dpop.ErrInvalidProof},
		{name: "JWS JSON serialization", proof: func(*dpoptest.Key, map[string]any, map[string]any) string { return `{"payload":"e30","signatures":[]}` }, want: dpop.ErrInvalidProof},
		{name: "empty proof", proof: func(*dpoptest.Key, map[string]any, map[string]any) string { return "" }, want: dpop.ErrMissingProof},
		{
			name: "oversize proof",
			proof: func(k *dpoptest.Key, h, c map[string]any) string {
				return k.Sign(h, set(c, "pad", strings.Repeat("x", dpop.DefaultMaxProofBytes)))
			},
			want: dpop.ErrInvalidProof,
		},
		{name: "jti missing", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(h, set(c, "jti", nil)) }, want: dpop.ErrInvalidProof},
		{name: "jti empty", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(h, set(c, "jti", "")) }, want: dpop.ErrInvalidProof},
		{name: "wrong htm", method: "POST", want: dpop.ErrRequestMismatch},
		{name: "htm lower case", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(h, set(c, "htm", "get")) }, want: dpop.ErrRequestMismatch},
		{name: "htm missing", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(h, set(c, "htm", nil)) }, want: dpop.ErrRequestMismatch},
		{name: "wrong htu path", url: "https://api.example.com/orders/1", want: dpop.ErrRequestMismatch},
		{name: "wrong htu host", url: "https://evil.example.com/orders", want: dpop.ErrRequestMismatch},
		{name: "wrong htu scheme", url: "http://api.example.com/orders", want: dpop.ErrRequestMismatch},
		{name: "wrong htu port", url: "https://api.example.com:8443/orders", want: dpop.ErrRequestMismatch},
		{name: "htu missing", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(h, set(c, "htu", nil)) }, want: dpop.ErrRequestMismatch},
		{name: "htu relative", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(h, set(c, "htu", "/orders")) }, want: dpop.ErrRequestMismatch},
		{name: "request query ignored", url: target + "?page=2#top"},
		{name: "htu query ignored", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(h, set(c, "htu", target+"?x=1#f")) }},
		{
			name: "htu normalised: case, default port, percent-encoding",
			proof: func(k *dpoptest.Key, h, c map[string]any) string {
				return k.Sign(h, set(c, "htu", "HTTPS://API.Example.COM:443/%6Frders"))
			},
		},
		{name: "request URL with default port", url: "https://api.example.com:443/orders"},
		{name: "path case matters", url: "https://api.example.com/Orders", want: dpop.ErrRequestMismatch},
		{name: "stale iat", proof: func(k *dpoptest.Key, h, c map[string]any) string {
			return k.Sign(h, set(c, "iat", now.Add(-61*time.Second).Unix()))
		}, want: dpop.ErrProofTime},
		{name: "future iat", proof: func(k *dpoptest.Key, h, c map[string]any) string {
			return k.Sign(h, set(c, "iat", now.Add(61*time.Second).Unix()))
		}, want: dpop.ErrProofTime},
		{name: "iat at the window's edge", proof: func(k *dpoptest.Key, h, c map[string]any) string {
			return k.Sign(h, set(c, "iat", now.Add(-60*time.Second).Unix()))
		}},
		{name: "iat with a fraction", proof: func(k *dpoptest.Key, h, c map[string]any) string {
			return k.Sign(h, set(c, "iat", float64(now.Unix())+0.5))
		}},
		{name: "iat missing", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(h, set(c, "iat", nil)) }, want: dpop.ErrProofTime},
		{name: "iat a string", proof: func(k *dpoptest.Key, h, c map[string]any) string {
			return k.Sign(h, set(c, "iat", fmt.Sprint(now.Unix())))
		}, want: dpop.ErrProofTime},
		{name: "wrong ath", token: "another-token", want: dpop.ErrTokenHash},
		{name: "ath missing", proof: func(k *dpoptest.Key, h, c map[string]any) string { return k.Sign(h, set(c, "ath", nil)) }, want: dpop.ErrTokenHash},
		{name: "ath padded", proof: func(k *dpoptest.Key, h, c map[string]any) string {
			return k.Sign(h, set(c, "ath", dpoptest.ATH(token)+"="))
		}, want: dpop.ErrTokenHash},
		{name: "jkt mismatch", jkt: other.JKT(), want: dpop.ErrKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newVerifier(t, dpop.Config{}), key("ES256"))
		})
	}
}

func TestVerifyAlgorithms(t *testing.T) {
	for _, alg := range []string{"ES256", "EdDSA", "RS256", "PS256"} {
		t.Run(alg, func(t *testing.T) {
			verifyTest{}.run(t, newVerifier(t, dpop.Config{}), key(alg))
		})
	}
	t.Run("alg not in the allowlist", func(t *testing.T) {
		verifyTest{want: dpop.ErrInvalidProof}.run(t, newVerifier(t, dpop.Config{Algorithms: []string{"ES256"}}), key("EdDSA"))
	})
}

func TestReplay(t *testing.T) {
	clock := now
	v := newVerifier(t, dpop.Config{Now: func() time.Time { return clock }, IATWindow: 10 * time.Second})
	k := key("ES256")
	req := dpop.ProofRequest{Method: "GET", URL: target, AccessToken: token}
	c := k.Claims("GET", target, token, now)
	proof := k.Sign(k.Header(), c)
	if err := v.Verify(context.Background(), proof, req, k.JKT()); err != nil {
		t.Fatalf("first use: %v", err)
	}
	clock = clock.Add(10 * time.Second) // still inside the window
	if err := v.Verify(context.Background(), proof, req, k.JKT()); !errors.Is(err, dpop.ErrReplay) {
		t.Fatalf("replay: %v, want ErrReplay", err)
	}
	// The same jti for another URL is another proof (RFC 9449 §11.1).
	c2 := k.Claims("GET", target+"/1", token, clock)
	c2["jti"] = c["jti"]
	req2 := req
	req2.URL = target + "/1"
	if err := v.Verify(context.Background(), k.Sign(k.Header(), c2), req2, k.JKT()); err != nil {
		t.Fatalf("same jti, other URL: %v", err)
	}
	// A proof rejected for another reason does not take its jti.
	c3 := k.Claims("GET", target, token, clock)
	if err := v.Verify(context.Background(), k.Sign(k.Header(), c3), req, key("EdDSA").JKT()); !errors.Is(err, dpop.ErrKeyMismatch) {
		t.Fatalf("wrong key: %v", err)
	}
	if err := v.Verify(context.Background(), k.Sign(k.Header(), c3), req, k.JKT()); err != nil {
		t.Fatalf("jti of a rejected proof: %v", err)
	}
	clock = clock.Add(time.Second) // the first proof is stale now
	if err := v.Verify(context.Background(), proof, req, k.JKT()); !errors.Is(err, dpop.ErrProofTime) {
		t.Fatalf("stale replay: %v, want ErrProofTime", err)
	}
}

func TestReplayCacheBounded(t *testing.T) {
	clock := now
	v := newVerifier(t, dpop.Config{Now: func() time.Time { return clock }, IATWindow: 10 * time.Second, MaxReplayEntries: 3})
	k := key("EdDSA")
	req := dpop.ProofRequest{Method: "GET", URL: target, AccessToken: token}
	for i := range 3 {
		if err := v.Verify(context.Background(), k.Proof("GET", target, token, clock.Add(time.Duration(i)*time.Second)), req, k.JKT()); err != nil {
			t.Fatalf("proof %d: %v", i, err)
		}
	}
	err := v.Verify(context.Background(), k.Proof("GET", target, token, clock), req, k.JKT())
	if !errors.Is(err, dpop.ErrReplayCacheFull) || errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("full cache: %v, want ErrReplayCacheFull only", err)
	}
	clock = clock.Add(10*time.Second + 1) // the first entry (iat = now) has expired
	if err := v.Verify(context.Background(), k.Proof("GET", target, token, clock), req, k.JKT()); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if err := v.Verify(context.Background(), k.Proof("GET", target, token, clock), req, k.JKT()); !errors.Is(err, dpop.ErrReplayCacheFull) {
		t.Fatalf("full again: %v", err)
	}
}

func TestVerifyRequiresBinding(t *testing.T) {
	v := newVerifier(t, dpop.Config{})
	k := key("ES256")
	proof := k.Proof("GET", target, token, now)
	if err := v.Verify(context.Background(), proof, dpop.ProofRequest{Method: "GET", URL: target, AccessToken: token}, ""); !errors.Is(err, dpop.ErrKeyMismatch) {
		t.Errorf("empty jkt: %v, want ErrKeyMismatch", err)
	}
	if err := v.Verify(context.Background(), proof, dpop.ProofRequest{Method: "GET", URL: target}, k.JKT()); !errors.Is(err, dpop.ErrTokenHash) {
		t.Errorf("no access token: %v, want ErrTokenHash", err)
	}
	if err := v.Verify(context.Background(), proof, dpop.ProofRequest{Method: "GET", URL: "/orders", AccessToken: token}, k.JKT()); !errors.Is(err, dpop.ErrRequestMismatch) {
		t.Errorf("relative request URL: %v, want ErrRequestMismatch", err)
	}
}

func TestFromHeader(t *testing.T) {
	tests := []struct {
		name string
		vals []string
		want error
	}{
		{"one", []string{"a.b.c"}, nil},
		{"none", nil, dpop.ErrMissingProof},
		{"two DPoP headers", []string{"a.b.c", "d.e.f"}, dpop.ErrMissingProof},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.vals {
				h.Add("DPoP", v)
			}
			got, err := dpop.FromHeader(h)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if err == nil && got != tt.vals[0] {
				t.Fatalf("got %q", got)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  dpop.Config
		ok   bool
	}{
		{"zero value", dpop.Config{}, true},
		{"ES256 only", dpop.Config{Algorithms: []string{"ES256"}}, true},
		{"none", dpop.Config{Algorithms: []string{"ES256", "none"}}, false},
		{"HS256", dpop.Config{Algorithms: []string{"HS256"}}, false},
		{"unknown", dpop.Config{Algorithms: []string{"ES257"}}, false},
		{"negative window", dpop.Config{IATWindow: -time.Second}, false},
		{"negative proof size", dpop.Config{MaxProofBytes: -1}, false},
		{"negative replay entries", dpop.Config{MaxReplayEntries: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := dpop.New(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New: %v, want ok=%v", err, tt.ok)
			}
			if err == nil && len(v.Algorithms()) == 0 {
				t.Fatal("no algorithms")
			}
		})
	}
	v, _ := dpop.New(dpop.Config{})
	if got := strings.Join(v.Algorithms(), " "); got != "ES256 RS256 PS256 EdDSA" {
		t.Errorf("default algorithms %q", got)
	}
}

// TestVerifyExactNames is finding 3 of the hardening review (issue 9) for
// proofs: header, jwk and claim names are matched exactly and none may be
// given twice. go-jose reads the header and the jwk again, keeping the last
// of two names and folding case in the jwk, so a second spelling could make
// it verify with another key than the one checked here.
func TestVerifyExactNames(t *testing.T) {
	k, other := key("ES256"), dpoptest.NewKey("ES256")
	jwk := mustJSON(t, k.PublicJWK())
	otherX := other.PublicJWK()["x"].(string)
	claims := mustJSON(t, k.Claims("GET", target, token, now))
	header := func(jwk string) string { return `{"typ":"dpop+jwt","alg":"ES256","jwk":` + jwk + `}` }
	// withMember inserts a member at the start of a JSON object.
	withMember := func(object, member string) string { return "{" + member + "," + object[1:] }

	raw := func(header, claims string) func(*dpoptest.Key, map[string]any, map[string]any) string {
		return func(k *dpoptest.Key, _, _ map[string]any) string { return k.SignRaw(header, claims) }
	}
	tests := []verifyTest{
		{name: "exact names", proof: raw(header(jwk), claims)},
		{name: "typ twice", proof: raw(withMember(header(jwk), `"typ":"JWT"`), claims), want: dpop.ErrInvalidProof},
		{name: "TYP beside typ", proof: raw(withMember(header(jwk), `"TYP":"JWT"`), claims), want: dpop.ErrInvalidProof},
		{name: "alg twice", proof: raw(withMember(header(jwk), `"alg":"RS256"`), claims), want: dpop.ErrInvalidProof},
		{name: "jwk twice", proof: raw(withMember(header(jwk), `"jwk":`+mustJSON(t, other.PublicJWK())), claims), want: dpop.ErrInvalidProof},
		{name: "jwk x twice", proof: raw(header(withMember(jwk, `"x":"`+otherX+`"`)), claims), want: dpop.ErrInvalidProof},
		{name: "jwk X beside x", proof: raw(header(withMember(jwk, `"X":"`+otherX+`"`)), claims), want: dpop.ErrInvalidProof},
		{name: "jwk D, private in upper case", proof: raw(header(withMember(jwk, `"D":"AAAA"`)), claims), want: dpop.ErrInvalidProof},
		{name: "htm twice", proof: raw(header(jwk), withMember(claims, `"htm":"POST"`)), want: dpop.ErrInvalidProof},
		{name: "HTM beside htm", proof: raw(header(jwk), withMember(claims, `"HTM":"POST"`)), want: dpop.ErrInvalidProof},
		{name: "jti twice", proof: raw(header(jwk), withMember(claims, `"jti":"another"`)), want: dpop.ErrInvalidProof},
		{name: "an unknown claim in upper case is no claim", proof: raw(header(jwk), withMember(claims, `"NONCE":"x"`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newVerifier(t, dpop.Config{}), k)
		})
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
