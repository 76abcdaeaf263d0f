package provider_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

// TestClientKeySetExactNames (issue 9, finding 3, the provider's part):
// encoding/json, which go-jose decodes a JWK with, folds case and keeps the
// last of two members, so a client's JWK Set with "X" beside "x" (or "x"
// twice) could make the provider encrypt introspection answers to another
// key than the one the set plainly names. A JWK Set from a registration or
// from a client's jwks_uri is refused when a member is named twice or
// matches a JWK member only when case is ignored.
func TestClientKeySetExactNames(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := publicJWKS(t, "ec-1", &key.PublicKey)
	otherX := memberOf(t, publicJWKS(t, "ec-2", &other.PublicKey), "x")
	tests := []struct {
		name string
		set  string
	}{
		{"x twice", strings.Replace(good, `"x":`, `"x":"`+otherX+`","x":`, 1)},
		{"X beside x", strings.Replace(good, `"x":`, `"X":"`+otherX+`","x":`, 1)},
		{"KTY for kty", strings.Replace(good, `"kty"`, `"KTY"`, 1)},
		{"keys twice", strings.Replace(good, `{"keys":`, `{"keys":[],"keys":`, 1)},
		{"Keys for keys", strings.Replace(good, `"keys"`, `"Keys"`, 1)},
	}
	e := newEnv(t, store.NewMemory())
	spec := func(set, uri string) provider.ClientSpec {
		return provider.ClientSpec{Introspection: store.IntrospectAny, IntrospectionEncryptedResponseAlg: "ECDH-ES", JWKS: set, JWKSURI: uri}
	}
	if _, _, err := e.p.Admin().RegisterClient(context.Background(), spec(good, "")); err != nil {
		t.Fatalf("the plain set: %v", err)
	}
	app := e.register(provider.ClientSpec{})
	tok := e.token(app)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.set == good {
				t.Fatal("the variant did not change the set")
			}
			if _, _, err := e.p.Admin().RegisterClient(context.Background(), spec(tt.set, "")); !errors.Is(err, provider.ErrInvalidClient) {
				t.Errorf("registration: %v, want ErrInvalidClient", err)
			}
			// The same set fetched from the client's jwks_uri: no answer
			// at all rather than one encrypted to a key the set does not
			// plainly name.
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(tt.set)) }))
			defer srv.Close()
			rs := e.register(spec("", srv.URL))
			a := e.do(req{path: "/introspect", basic: basic(rs.id, rs.secret), form: form("token", tok), accept: provider.JWTResponseMediaType})
			if a.status != 500 || strings.Contains(a.body, "active") {
				t.Errorf("introspection with the set at jwks_uri: %d %s, want 500", a.status, a.body)
			}
		})
	}
}

// memberOf returns the string value of member name in the first key of set.
func memberOf(t testing.TB, set, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(set, `"`+name+`":"`)
	v, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 {
		t.Fatalf("no %s in %s", name, set)
	}
	return v
}
