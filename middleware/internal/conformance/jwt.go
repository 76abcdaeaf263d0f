package conformance

import (
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/jwtaccess"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
	"github.com/tokengate/tokengate/tokenroute"
)

// JWT access tokens (RFC 9068), checked locally by jwtaccess beside the
// suite's opaque tokens through a tokenroute.Router: every adapter must
// answer them as it answers introspected tokens.

// jwtIssuer is the issuer of the suite's JWT access tokens.
const jwtIssuer = "https://as.example.com"

// jwtKey signs them; Ed25519 signatures are deterministic, so the tokens
// are the same on every run.
var jwtKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// mintJWT signs claims of alice's token for the suite's audience, with
// changes (nil deletes), under typ.
func mintJWT(typ string, changes map[string]any) string {
	claims := map[string]any{
		"iss": jwtIssuer, "sub": "alice", "client_id": "shop", "aud": audience, "scope": "orders:read profile",
		"iat": Now.Unix(), "exp": Now.Add(time.Hour).Unix(), "jti": "jwt-1",
	}
	for k, v := range changes {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: jwtKey, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		panic(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return tok
}

// jwtOn routes JWTs of jwtIssuer to a local validator trusting jwtKey, and
// the suite's opaque tokens to its introspector.
func jwtOn(c *rs.Config) {
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: jwtKey.Public(), KeyID: "k1"}}})
	if err != nil {
		panic(err)
	}
	local, err := jwtaccess.New(jwtaccess.Config{Issuer: jwtIssuer, Audiences: []string{audience}, JWKS: set,
		Now: func() time.Time { return Now }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	router, err := tokenroute.New(tokenroute.Config{Issuers: []tokenroute.Issuer{{Issuer: jwtIssuer, JWT: local, Opaque: c.Introspector}}})
	if err != nil {
		panic(err)
	}
	c.Introspector = router
}

var (
	jwtAlice   = mintJWT("at+jwt", nil)
	jwtBound   = mintJWT("at+jwt", map[string]any{"cnf": map[string]string{"jkt": ClientKey.JKT()}})
	notActive  = `, error="invalid_token", error_description="the access token is not active"`
	notActiveB = invTok + `the access token is not active"}`
)

var jwtCases = []Case{
	{Name: "JWT: accepted", Config: jwtOn, Require: readOrders, Auth: []string{"Bearer " + jwtAlice}, Status: 200, Body: alice},
	{Name: "JWT: opaque token beside it", Config: jwtOn, Require: readOrders, Auth: []string{"Bearer reader"}, Status: 200, Body: alice},
	{
		Name: "JWT: missing scope", Config: jwtOn, Require: scopes.All("orders:write"), Auth: []string{"Bearer " + jwtAlice}, Status: 403,
		Challenge: realm + `, error="insufficient_scope", error_description="the access token lacks the required scope: orders:write", scope="orders:write"`,
		Body:      `{"error":"insufficient_scope","error_description":"the access token lacks the required scope: orders:write"}`,
	},
	{Name: "JWT: expired", Config: jwtOn, Auth: []string{"Bearer " + mintJWT("at+jwt", map[string]any{"exp": Now.Add(-time.Hour).Unix()})}, Status: 401, Challenge: realm + notActive, Body: notActiveB},
	{Name: "JWT: ID token", Config: jwtOn, Auth: []string{"Bearer " + mintJWT("JWT", nil)}, Status: 401, Challenge: realm + notActive, Body: notActiveB},
	{Name: "JWT: another audience", Config: jwtOn, Auth: []string{"Bearer " + mintJWT("at+jwt", map[string]any{"aud": "https://other.example.com"})}, Status: 401, Challenge: realm + notActive, Body: notActiveB},
	{Name: "JWT: unknown issuer", Config: jwtOn, Auth: []string{"Bearer " + mintJWT("at+jwt", map[string]any{"iss": "https://evil.example.com"})}, Status: 401, Challenge: realm + notActive, Body: notActiveB},
	{Name: "JWT: tampered", Config: jwtOn, Auth: []string{"Bearer " + jwtAlice[:len(jwtAlice)-4] + "AAAA"}, Status: 401, Challenge: realm + notActive, Body: notActiveB},
	{
		Name: "JWT: DPoP-bound, with its proof", Config: func(c *rs.Config) { jwtOn(c); dpopOn(c) }, Require: readOrders,
		Auth: []string{"DPoP " + jwtBound}, DPoP: []string{ClientKey.Proof("GET", OrdersURL, jwtBound, Now)}, Status: 200, Body: alice,
	},
	{
		Name: "JWT: DPoP-bound, sent as Bearer", Config: func(c *rs.Config) { jwtOn(c); dpopOn(c) }, Auth: []string{"Bearer " + jwtBound}, Status: 401,
		Challenge: realm + `, error="invalid_token", error_description="the DPoP-bound access token must be sent with the DPoP scheme", ` + dpopRealm + ", " + algs,
		Body:      invTok + `the DPoP-bound access token must be sent with the DPoP scheme"}`,
	},
}
