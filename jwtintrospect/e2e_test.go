package jwtintrospect_test

import (
	"context"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtintrospect"
)

// fakeAS is an authorization server that answers RFC 7662 introspection
// with RFC 9701 JWTs, signed with its key and, when the resource server has
// a JWK Set, encrypted to the resource server's "use": "enc" key.
type fakeAS struct {
	t       *testing.T
	srv     *httptest.Server
	key     any
	alg     jose.SignatureAlgorithm
	rsJWKS  string // the resource server's jwks_uri; "" for signed-only answers
	keyAlg  jose.KeyAlgorithm
	enc     jose.ContentEncryption
	answers map[string]map[string]any // token → token_introspection
	plain   bool                      // answer with plain JSON instead
}

func newFakeAS(t *testing.T, key any, alg jose.SignatureAlgorithm) *fakeAS {
	as := &fakeAS{t: t, key: key, alg: alg, answers: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(jwks(t, jose.JSONWebKey{Key: key, KeyID: "as-1", Use: "sig"}))
	})
	mux.HandleFunc("/introspect", as.introspect)
	as.srv = httptest.NewServer(mux)
	t.Cleanup(as.srv.Close)
	return as
}

func (as *fakeAS) introspect(w http.ResponseWriter, r *http.Request) {
	t := as.t
	if r.Method != http.MethodPost {
		t.Errorf("method %s, want POST", r.Method)
	}
	if got := r.Header.Get("Accept"); got != jwtintrospect.MediaType {
		t.Errorf("Accept = %q, want %q", got, jwtintrospect.MediaType)
	}
	if id, secret, ok := r.BasicAuth(); !ok || id != testClientID || secret != "s3cret" {
		t.Errorf("client authentication = %q %q %v", id, secret, ok)
	}
	if err := r.ParseForm(); err != nil {
		t.Fatal(err)
	}
	ti, ok := as.answers[r.PostForm.Get("token")]
	if !ok {
		ti = map[string]any{"active": false}
	}
	w.Header().Set("Cache-Control", "no-store")
	if as.plain {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(ti)
		return
	}
	c := with(claims(), map[string]any{"iss": as.srv.URL, "token_introspection": ti})
	body := signJWS(t, as.alg, as.key, "as-1", "token-introspection+jwt", c, nil)
	if as.rsJWKS != "" {
		body = as.encrypt(body)
	}
	w.Header().Set("Content-Type", "application/token-introspection+jwt; charset=utf-8")
	io.WriteString(w, body)
	if r.PostForm.Get("token") == "huge-token" {
		w.Write(make([]byte, 10<<20)) // 10 MB: the client's cap stops it
	}
}

// encrypt fetches the resource server's JWK Set, as an AS does, and
// encrypts to its first "use": "enc" key.
func (as *fakeAS) encrypt(jws string) string {
	t := as.t
	resp, err := http.Get(as.rsJWKS)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if k.Use == "enc" {
			return encryptJWE(t, jws, as.keyAlg, as.enc, k.Key, k.KeyID, nil)
		}
	}
	t.Fatal("the resource server publishes no encryption key")
	return ""
}

func TestWithIntrospectClient(t *testing.T) {
	asKey := newECKey(t, elliptic.P256())
	rsKey := newRSAKey(t, "rs", 2048)
	active := map[string]any{
		"active": true, "scope": "read write", "sub": "alice", "client_id": "app",
		"exp": testNow.Add(time.Hour).Unix(),
	}
	tests := []struct {
		name    string
		encrypt bool
		plain   bool
	}{
		{name: "signed"},
		{name: "signed then encrypted", encrypt: true},
		{name: "plain JSON refused", plain: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := newFakeAS(t, asKey, jose.ES256)
			as.answers["good-token"] = active
			as.answers["huge-token"] = active
			as.answers["expired-token"] = with(active, map[string]any{"exp": testNow.Add(-time.Hour).Unix()})
			as.plain = tt.plain
			cfg := jwtintrospect.Config{
				Issuer:   as.srv.URL,
				ClientID: testClientID,
				JWKSURL:  as.srv.URL + "/jwks",
				Now:      fixedNow,
				Logger:   slog.New(slog.DiscardHandler),
			}
			if tt.encrypt {
				cfg.DecryptionKeys = []*jwtintrospect.Key{{KeyID: "rs-1", PrivateKey: rsKey}}
				cfg.KeyAlgorithms = []string{"RSA-OAEP-256"}
				cfg.RequireEncryption = true
			}
			dec, err := jwtintrospect.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			if tt.encrypt {
				rs := httptest.NewServer(dec.JWKSHandler())
				defer rs.Close()
				as.rsJWKS, as.keyAlg, as.enc = rs.URL, jose.RSA_OAEP_256, jose.A256GCM
			}
			client, err := introspect.New(introspect.Config{
				IntrospectionURL: as.srv.URL + "/introspect",
				ClientID:         testClientID,
				ClientSecret:     "s3cret",
				Decoder:          dec,
				Now:              fixedNow,
				Logger:           slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()

			resp, err := client.Introspect(ctx, "good-token")
			if tt.plain {
				if !errors.Is(err, jwtintrospect.ErrFormat) || !errors.Is(err, introspect.ErrMalformedResponse) {
					t.Fatalf("Introspect of a plain JSON answer: %v, %v; want ErrFormat", resp, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Introspect(good-token): %v", err)
			}
			if !resp.Active || resp.Subject != "alice" || resp.Scope != "read write" {
				t.Errorf("Introspect(good-token) = %+v", resp)
			}
			for _, token := range []string{"unknown-token", "expired-token"} {
				if _, err := client.Introspect(ctx, token); !errors.Is(err, introspect.ErrInactive) {
					t.Errorf("Introspect(%s) error = %v, want ErrInactive", token, err)
				}
			}
			if r, err := client.Introspect(ctx, "huge-token"); !errors.Is(err, introspect.ErrMalformedResponse) {
				t.Errorf("Introspect(huge-token) = %v, %v; want ErrMalformedResponse", r, err)
			}
		})
	}
}
