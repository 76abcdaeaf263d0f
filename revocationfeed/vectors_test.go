package revocationfeed

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/secevent"
)

// The test vectors in testdata/vectors/sets.json are for anyone who
// implements either side of docs/revocation-events.md (the provider's
// transmitter first): an issuer, its key pair (a test key, published
// here), and a sequence of SETs with what a receiver must make of each, in
// order, at a fixed time. Regenerate with
//
//	go test ./revocationfeed -run TestVectors -update
//
// Ed25519 signatures are deterministic, so the file changes only when the
// cases do.
var update = flag.Bool("update", false, "rewrite testdata/vectors")

const vectorsFile = "testdata/vectors/sets.json"

type vectors struct {
	Description  string                `json:"description"`
	Issuer       string                `json:"issuer"`
	ClientID     string                `json:"client_id"`
	Now          int64                 `json:"now"`
	ClockSkew    int64                 `json:"clock_skew_seconds"`
	PrivateJWK   json.RawMessage       `json:"private_jwk"`
	JWKS         json.RawMessage       `json:"jwks"`
	Metadata     map[string]string     `json:"metadata"`
	PollRequest  secevent.PollRequest  `json:"poll_request"`
	PollResponse secevent.PollResponse `json:"poll_response"`
	Cases        []vectorCase          `json:"cases"`
}

type vectorCase struct {
	Name string `json:"name"`
	SET  string `json:"set"`
	// Want is "applied", "duplicate" (seen already, or moot: the token
	// expired) or "refused".
	Want string `json:"want"`
	// Err is the setErrs code of a refused SET.
	Err string `json:"err,omitempty"`
	// TokenSHA256 and TokenJTI are what an applied SET revokes.
	TokenSHA256 string `json:"token_sha256,omitempty"`
	TokenJTI    string `json:"token_jti,omitempty"`
}

const (
	vecIssuer = "https://as.example.com"
	vecClient = "orders-api"
	vecKID    = "as-2026-01"
)

var vecNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func vecKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed([]byte("tokengate revocation event tests"))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signRaw signs payload with header, as a transmitter (or an attacker)
// would; alg EdDSA signs with key, HS256 with hmacKey, none not at all.
func signRaw(t testing.TB, header map[string]any, payload []byte, key ed25519.PrivateKey, hmacKey []byte) string {
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(h) + "." + b64(payload)
	switch header["alg"] {
	case "none":
		return input + "."
	case "HS256":
		m := hmac.New(sha256.New, hmacKey)
		m.Write([]byte(input))
		return input + "." + b64(m.Sum(nil))
	default:
		return input + "." + b64(ed25519.Sign(key, []byte(input)))
	}
}

func makeVectors(t testing.TB) *vectors {
	key := vecKey()
	pub := key.Public().(ed25519.PublicKey)
	priv, _ := json.Marshal(jose.JSONWebKey{Key: key, KeyID: vecKID, Algorithm: "EdDSA", Use: "sig"})
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: vecKID, Algorithm: "EdDSA", Use: "sig"}}})
	now := vecNow.Unix()
	hdr := func() map[string]any { return map[string]any{"alg": "EdDSA", "kid": vecKID, "typ": secevent.Type} }
	n := 0
	claims := func(token, tokenJTI string) map[string]any {
		n++
		ev := map[string]any{"token_sha256": secevent.TokenHash(token), "token_exp": now + 900, "reason": secevent.ReasonRevoked}
		if tokenJTI != "" {
			ev["token_jti"] = tokenJTI
		}
		return map[string]any{"iss": vecIssuer, "aud": vecClient, "iat": now - 5, "jti": "set-" + string(rune('a'+n-1)),
			"toe": now - 5, "events": map[string]any{secevent.TokenRevoked: ev}}
	}
	sign := func(h, c map[string]any) string {
		p, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return signRaw(t, h, p, key, nil)
	}
	other := ed25519.NewKeyFromSeed([]byte("not the issuer's key, 32 bytes!!"))
	var cases []vectorCase
	add := func(name, want, errCode, set string, token, tokenJTI string) {
		c := vectorCase{Name: name, SET: set, Want: want, Err: errCode}
		if want == "applied" {
			c.TokenSHA256, c.TokenJTI = secevent.TokenHash(token), tokenJTI
		}
		cases = append(cases, c)
	}
	opaque := sign(hdr(), claims("tg_at_opaque-token-1", ""))
	add("an opaque token revoked", "applied", "", opaque, "tg_at_opaque-token-1", "")
	add("a JWT access token revoked", "applied", "", sign(hdr(), claims("eyJ.jwt-access-token.sig", "jwt-jti-1")), "eyJ.jwt-access-token.sig", "jwt-jti-1")
	c := claims("tg_at_token-3", "")
	c["aud"] = []string{"billing-api", vecClient}
	add("aud as an array naming the receiver", "applied", "", sign(hdr(), c), "tg_at_token-3", "")
	add("the first SET again (replayed)", "duplicate", "", opaque, "", "")
	c = claims("tg_at_expired", "")
	c["events"].(map[string]any)[secevent.TokenRevoked].(map[string]any)["token_exp"] = now - 3600
	add("a token expired an hour ago (moot)", "duplicate", "", sign(hdr(), c), "", "")

	h := hdr()
	h["alg"] = "none"
	delete(h, "kid")
	add("alg none", "refused", secevent.ErrCodeInvalidKey, sign(h, claims("tg_at_none", "")), "", "")
	h = hdr()
	h["alg"] = "HS256"
	add("HS256 keyed with the issuer's public key (algorithm confusion)", "refused", secevent.ErrCodeInvalidKey,
		signRaw(t, h, mustJSON(t, claims("tg_at_hs", "")), nil, pub), "", "")
	add("signed by another key under the issuer's kid", "refused", secevent.ErrCodeInvalidKey,
		signRaw(t, hdr(), mustJSON(t, claims("tg_at_forged", "")), other, nil), "", "")
	h = hdr()
	h["kid"] = "unknown-kid"
	add("a kid not in the issuer's JWK Set", "refused", secevent.ErrCodeInvalidKey, sign(h, claims("tg_at_kid", "")), "", "")
	c = claims("tg_at_iss", "")
	c["iss"] = "https://evil.example.com"
	add("another issuer", "refused", secevent.ErrCodeInvalidIssuer, sign(hdr(), c), "", "")
	c = claims("tg_at_aud", "")
	c["aud"] = "billing-api"
	add("another audience", "refused", secevent.ErrCodeInvalidAudience, sign(hdr(), c), "", "")
	h = hdr()
	h["typ"] = "at+jwt"
	add("typ at+jwt (an access token's type)", "refused", secevent.ErrCodeInvalidRequest, sign(h, claims("tg_at_typ", "")), "", "")
	h = hdr()
	delete(h, "typ")
	add("no typ", "refused", secevent.ErrCodeInvalidRequest, sign(h, claims("tg_at_notyp", "")), "", "")
	c = claims("tg_at_old", "")
	c["iat"] = now - 25*3600
	add("iat 25 hours ago (too old)", "refused", secevent.ErrCodeInvalidRequest, sign(hdr(), c), "", "")
	c = claims("tg_at_future", "")
	c["iat"] = now + 3600
	add("iat an hour ahead", "refused", secevent.ErrCodeInvalidRequest, sign(hdr(), c), "", "")
	c = claims("tg_at_exp", "")
	c["exp"] = now + 3600
	add("exp present (a SET has none)", "refused", secevent.ErrCodeInvalidRequest, sign(hdr(), c), "", "")
	c = claims("tg_at_sub", "")
	c["sub"] = "alice"
	add("sub present", "refused", secevent.ErrCodeInvalidRequest, sign(hdr(), c), "", "")
	c = claims("tg_at_two", "")
	c["events"].(map[string]any)["https://schemas.openid.net/secevent/caep/event-type/session-revoked"] = map[string]any{}
	add("a second event beside token-revoked", "refused", secevent.ErrCodeInvalidRequest, sign(hdr(), c), "", "")
	c = claims("tg_at_short", "")
	c["events"].(map[string]any)[secevent.TokenRevoked].(map[string]any)["token_sha256"] = "AAAA"
	add("token_sha256 not 32 bytes", "refused", secevent.ErrCodeInvalidRequest, sign(hdr(), c), "", "")
	c = claims("tg_at_noexp", "")
	delete(c["events"].(map[string]any)[secevent.TokenRevoked].(map[string]any), "token_exp")
	add("token_exp missing", "refused", secevent.ErrCodeInvalidRequest, sign(hdr(), c), "", "")
	dup := mustJSON(t, claims("tg_at_dupname", ""))
	dup = append([]byte(`{"iss":"https://evil.example.com",`), dup[1:]...)
	add(`"iss" twice in the claims`, "refused", secevent.ErrCodeInvalidRequest, signRaw(t, hdr(), dup, key, nil), "", "")

	return &vectors{
		Description: "Revocation event test vectors (docs/revocation-events.md): feed the cases, in order, to one receiver configured with issuer, client_id, the JWK Set and clock skew, at time now; each must end as want says (err: the RFC 8936 setErrs code). private_jwk is a test key, published: never use it elsewhere.",
		Issuer:      vecIssuer, ClientID: vecClient, Now: now, ClockSkew: 30,
		PrivateJWK: priv, JWKS: jwks,
		Metadata: map[string]string{"issuer": vecIssuer, "jwks_uri": vecIssuer + "/jwks", secevent.MetadataMember: vecIssuer + "/events"},
		PollRequest: secevent.PollRequest{MaxEvents: secevent.MaxEvents, Cursor: "0",
			SetErrs: map[string]secevent.SetError{"set-z": {Err: secevent.ErrCodeInvalidAudience, Description: "aud does not name this client"}}},
		PollResponse: secevent.PollResponse{Sets: map[string]string{"set-a": opaque}, Cursor: "1"},
		Cases:        cases,
	}
}

func mustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// handlerTransport serves requests from a handler in memory: the vectors'
// issuer is https://as.example.com, and no test reaches the network.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// vecRecorder records what a receiver of the vectors is told.
type vecRecorder struct {
	hashes map[[sha256.Size]byte]int
	jtis   map[string]time.Time
}

func (r *vecRecorder) InvalidateHash(_ context.Context, h [sha256.Size]byte) error {
	r.hashes[h]++
	return nil
}

func (r *vecRecorder) Revoke(jti string, exp time.Time) error {
	r.jtis[jti] = exp
	return nil
}

// vectorSubscriber is a Subscriber of the vectors' issuer, its metadata and
// keys served in memory, its poll endpoint silent.
func vectorSubscriber(t testing.TB, v *vectors, rec *vecRecorder) *Subscriber {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v.Metadata)
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(v.JWKS)
	})
	mux.HandleFunc("POST /events", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // the vectors are fed directly, not polled
	})
	s, err := New(Config{
		Issuer: v.Issuer, ClientID: v.ClientID, Cache: rec, JWT: rec,
		ClockSkew:  time.Duration(v.ClockSkew) * time.Second,
		Now:        func() time.Time { return time.Unix(v.Now, 0) },
		HTTPClient: &http.Client{Transport: handlerTransport{mux}},
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// FuzzReceive feeds arbitrary text as a SET: no panic, and nothing is
// applied that does not verify under the issuer's key with its claims.
// Seeds are the vectors' SETs.
func FuzzReceive(f *testing.F) {
	v := makeVectors(f)
	for _, c := range v.Cases {
		f.Add(c.SET)
	}
	rec := &vecRecorder{hashes: map[[sha256.Size]byte]int{}, jtis: map[string]time.Time{}}
	s := vectorSubscriber(f, v, rec)
	f.Fuzz(func(t *testing.T, set string) {
		r, err := s.verify(context.Background(), set)
		if err == nil && (r == nil || r.jti == "" || r.tokenExp.IsZero()) {
			t.Fatalf("verified %q as %+v", set, r)
		}
	})
}

func TestVectors(t *testing.T) {
	out, err := json.MarshalIndent(makeVectors(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(vectorsFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsFile, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatalf("%v (regenerate with -update)", err)
	}
	if !bytes.Equal(raw, out) {
		t.Errorf("%s is not what makeVectors makes: regenerate it with -update", vectorsFile)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	rec := &vecRecorder{hashes: map[[sha256.Size]byte]int{}, jtis: map[string]time.Time{}}
	s := vectorSubscriber(t, &v, rec)
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			_, applied, err := s.receive(context.Background(), c.SET, "vector")
			got, code := "duplicate", ""
			var r *refusal
			switch {
			case errors.As(err, &r):
				got, code = "refused", r.code
			case err != nil:
				t.Fatalf("receive: %v", err)
			case applied:
				got = "applied"
			}
			if got != c.Want || code != c.Err {
				t.Fatalf("got %s %s (%v), want %s %s", got, code, err, c.Want, c.Err)
			}
			if c.Want != "applied" {
				return
			}
			sum, _ := base64.RawURLEncoding.DecodeString(c.TokenSHA256)
			if rec.hashes[[sha256.Size]byte(sum)] != 1 {
				t.Errorf("the cache was not told of %s", c.TokenSHA256)
			}
			if c.TokenJTI != "" && rec.jtis[c.TokenJTI].IsZero() {
				t.Errorf("the validator was not told of jti %s", c.TokenJTI)
			}
		})
	}
}
