// Package provider is an OAuth 2.0 authorization server: a team can run it
// as its token service ("tokengate serve"), embed it in an application (a
// [*Provider] is an [net/http.Handler]), or start it in tests (package
// providertest).
//
// Under the issuer URL it serves:
//
//   - authorization server metadata (RFC 8414) at
//     /.well-known/oauth-authorization-server, and the same document at
//     /.well-known/openid-configuration so that OpenID Connect libraries
//     can discover it;
//   - its JWK Set at the advertised jwks_uri ({issuer}/jwks.json);
//   - the token endpoint ({issuer}/token) with the client credentials grant
//     (RFC 6749 §4.4; no refresh token, §4.4.3), the authorization code
//     grant with PKCE (§4.1, RFC 7636) and the refresh token grant (§6,
//     rotating refresh tokens), scope narrowing to what the client may
//     have (§3.3), and resource indicators setting the audience (RFC 8707);
//     no password grant (RFC 9700 §2.4);
//   - with Config.LoginURL set, an OpenID Provider: the authorization
//     endpoint ({issuer}/authorize, code only: RFC 9700 §2.1.2), ID tokens,
//     the userinfo endpoint ({issuer}/userinfo) and provider sessions, with
//     the people signed in by the application through the headless
//     interaction API ([Interaction]);
//   - the introspection endpoint ({issuer}/introspect, RFC 7662), with a
//     per-client right to introspect (none, tokens for its own audience, any
//     token), answering {"active":false} and nothing else for any token the
//     caller may not see, and signed or signed-then-encrypted JWT answers
//     (RFC 9701) for clients registered for them;
//   - the revocation endpoint ({issuer}/revoke, RFC 7009);
//   - the revocation events endpoint ({issuer}/events, advertised as
//     revocation_events_endpoint): resource servers, authenticated as at
//     the introspection endpoint, long-poll it (RFC 8936, with a cursor)
//     for a Security Event Token (RFC 8417) per access token revoked —
//     by RFC 7009, a reused code or refresh token, a revoked consent, a
//     deleted client or [Provider.Revoke] — about the tokens they may
//     introspect, so that their caches (package revocationfeed) drop a
//     revoked token at once instead of after their TTL. The wire format
//     is docs/revocation-events.md.
//
// Clients authenticate with client_secret_basic (RFC 6749 §2.3.1: id and
// secret form-urlencoded, though raw values are accepted too, as Django
// OAuth Toolkit 1.7 sends them) or client_secret_post, never both at once.
// Errors are RFC 6749 §5.2 JSON with Cache-Control: no-store.
//
// Access tokens are opaque by default: 256 random bits with the prefix
// "tg_at_", so secret scanners can find leaked ones. A client may instead
// receive RFC 9068 JWT access tokens (typ at+jwt). Either way the provider
// stores only a SHA-256 hash of each token and of each client secret.
//
// Signing keys (RSA, EC P-256, Ed25519) are generated on first start and
// kept in the store; [Admin.RotateKeys] replaces them while the retired
// keys stay published until everything they signed has expired.
//
// State lives in a [store.Store]: in memory by default, or in SQLite with
// package provider/store/sqlite, which several processes may share.
//
// # Serving and administering
//
// A server and the administrative commands open the same database. The
// commands use an [Admin], which needs no issuer and never serves:
//
//	st, err := sqlite.Open(sqlite.Config{Path: "tokengate.db"})
//	...
//	defer st.Close()
//	p, err := provider.New(provider.Config{Issuer: "https://auth.example.com", Store: st})
//	...
//	defer p.Close()                                    // stops the sweeper of expired tokens
//	http.ListenAndServe(addr, p)                       // tokengate serve
//
//	a, err := provider.NewAdmin(provider.AdminConfig{Store: st})
//	...
//	c, secret, err := a.RegisterClient(ctx, spec)      // tokengate client create
//	clients, err := a.Clients(ctx)                     // tokengate client list
//	err = a.DeleteClient(ctx, id)                      // tokengate client delete
//	err = a.RotateKeys(ctx, provider.AlgES256)         // tokengate keys rotate --alg ES256
//
// An application that registers its clients itself uses the Provider's own
// Admin, p.Admin(), whose changes the Provider sees at once. A server in
// another process sees clients registered at once, a deleted client within
// ClientCacheTTL (its tokens are inactive at once), and rotated keys within
// KeyRefreshInterval. The Admin reads the key families and lifetimes it must
// agree on from the store, where New saves the server's.
//
// # Abuse
//
// Failed client authentications are throttled per (client id, address) and
// per address, never per client id alone, so that a guesser cannot lock a
// client out (Config.AuthFailuresPerMinute, Config.ClientAddress); each
// client has a token quota (Config.TokensPerMinute). Both answer 429 with
// Retry-After. An [Observer] counts failures, refusals and the store's
// growth; package provider/prommetrics exports them to Prometheus.
package provider
