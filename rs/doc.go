// Package rs is the core of an OAuth 2.0 resource server: it decides
// whether the access token of a request lets it reach a handler, and
// answers every refusal the way RFC 6750 §3 says.
//
//	client, err := introspect.New(introspect.Config{Issuer: "https://as.example.com", ClientID: id, ClientSecret: secret})
//	guard, err := rs.New(rs.Config{Introspector: client, Audiences: []string{"https://api.example.com"}})
//	mux.Handle("GET /orders", nethttp.RequireScopes(guard, scopes.All("orders:read"))(http.HandlerFunc(listOrders)))
//	// in listOrders: p, _ := rs.PrincipalFrom(r.Context())
//
// A [Guard] finds the bearer token (RFC 6750 §2), has an [Introspector]
// validate it (what introspect.New returns: an RFC 7662 client behind a
// verdict cache; or rstest.Introspector in tests), applies its policy (audience, issuer, token type, client,
// expiry, sender constraint), checks the route's scope requirement
// (package scopes) and turns every failure into an RFC 6750 answer.
// [Guard.Check] is the decision, [Guard.Reject] the answer to a refusal,
// and [PrincipalFrom] gives handlers the accepted caller.
//
// The adapters in middleware/nethttp, middleware/echo and middleware/gin
// only translate: for each request they call [Guard.Check], then either
// attach the principal with [RequestWithPrincipal] or write
// Guard.Reject(err) with [Rejection.Write], so every framework answers with
// the same bytes. [Config.ErrorBody] gives every answer your API's body
// format, on every route and in every framework.
//
// A transport that is not built on *http.Request, such as gRPC
// (middleware/grpc), calls [Guard.CheckCredentials] with what the call
// presents (its Authorization values and DPoP proofs, the method and URL a
// proof must name, its client certificate), gets the same decision and
// answer, and stores the principal with [ContextWithPrincipal].
//
// # Token extraction
//
// The Authorization request header (RFC 6750 §2.1) is always read: the
// scheme "Bearer" (and "DPoP" with [Config.DPoP]) is matched
// case-insensitively, the token must be a b64token of at most
// [MaxTokenLength] bytes, and a second Authorization header is
// invalid_request. [Config.Extractors] adds the other ways: [FromForm] for
// the form-encoded body (§2.2, read up to a bound and put back for the
// handler), [FromQuery] for the URI query (§2.3), or your own. A request
// that carries a token by more than one way is invalid_request. The
// metadata's bearer_methods_supported lists exactly the ways configured.
//
// # Answers
//
//	no token                         401  WWW-Authenticate: Bearer realm="api"
//	malformed request                400  Bearer realm="api", error="invalid_request", error_description="…"
//	inactive, expired, wrong aud, …  401  Bearer realm="api", error="invalid_token", error_description="…"
//	missing scope                    403  Bearer realm="api", error="insufficient_scope", error_description="…", scope="orders:read"
//	authorization server down        503  Retry-After: 5
//
// Challenge attributes are RFC 7235 quoted-strings; error_description only
// carries fixed texts from this package, never internal error text; with
// [Config.ResourceMetadataURL] every challenge also carries the RFC 9728
// resource_metadata attribute, and [Guard.MetadataHandler] serves the
// document. Errors have a JSON body {"error":…,"error_description":…}
// (or the one [Config.ErrorBody] makes) and Cache-Control: no-store.
//
// A 503 is also the answer when the authorization server rejects our own
// credentials or answers with garbage: that is the resource server's
// problem, logged at Error level (without the token), and never a pass.
//
// # Sender-constrained tokens
//
// By default a token that introspection reports as sender-constrained (a
// token_type of "DPoP", or a "cnf" member) is rejected as invalid_token:
// accepting it as a bearer token would defeat its binding. [Config.DPoP]
// accepts DPoP-bound tokens and [Config.MTLS] certificate-bound ones.
// Whatever is set, a cnf member other than jkt and x5t#S256, or one of
// those that is not a non-empty string, is invalid_token: a binding that is
// not understood cannot be checked, so it fails closed.
//
// With [Config.DPoP] (a *dpop.Verifier), DPoP-bound tokens (RFC 9449) are
// accepted as "Authorization: DPoP <token>" with exactly one DPoP proof
// header. The proof is checked as RFC 9449 §4.3 requires: typ dpop+jwt, an
// asymmetric alg from the verifier's list, a public jwk, the signature,
// htm, htu against [Config.RequestURL] (set it behind a reverse proxy), iat
// within the verifier's window, ath against the token, jti against a
// replay cache, and the jwk's RFC 7638 thumbprint against the token's
// cnf.jkt. The proof is read before introspection and verified after the
// token has passed the policy. The accepted key's thumbprint is
// [Principal.DPoPThumbprint]. These are invalid_token:
//
//   - a DPoP-bound token (cnf.jkt, whatever its token_type) sent with the
//     Bearer scheme: RFC 9449 §7.2 forbids downgrading the binding;
//   - a token that is not DPoP-bound sent with the DPoP scheme: the client
//     believes in a binding the authorization server did not make, and
//     accepting it would hide that mistake;
//   - a token_type of DPoP without cnf.jkt: there is no key to check the
//     proof against;
//   - without [Config.MTLS], a certificate-bound token.
//
// Answers then become:
//
//	no token                 401  Bearer realm="api", DPoP realm="api", algs="ES256 RS256 PS256 EdDSA"
//	bad or missing proof     401  Bearer realm="api", DPoP realm="api", error="invalid_dpop_proof", error_description="…", algs="…"
//	bad token, DPoP scheme   401  Bearer realm="api", DPoP realm="api", error="invalid_token", error_description="…", algs="…"
//	malformed, DPoP scheme   400  DPoP realm="api", error="invalid_request", error_description="…", algs="…"
//	missing scope, DPoP      403  DPoP realm="api", error="insufficient_scope", error_description="…", scope="…", algs="…"
//
// Bearer requests get the same answers as without DPoP, except that every
// 401 also carries the bare DPoP challenge (RFC 9449 §7.2). A full replay
// cache is answered with 503. Server-provided nonces (RFC 9449 §8, §9) are
// not implemented; the replay cache is per process.
//
// With [Config.MTLS], certificate-bound access tokens (RFC 8705 §3) are
// accepted: a token whose introspection response has cnf["x5t#S256"] is
// still sent with the Bearer scheme, and is accepted only if the client
// certificate of the request has that thumbprint, the unpadded base64url
// SHA-256 of its DER bytes ([CertificateThumbprint]), compared exactly and
// in constant time. No certificate or another one is 401 invalid_token
// with the fixed description "the access token is bound to a client
// certificate that the request did not present". The certificate is the
// leaf of r.TLS.PeerCertificates, so the server must request client
// certificates (tls.Config.ClientAuth; the AS already vouched for the
// binding, so tls.RequireAnyClientCert is enough). Behind a proxy that
// terminates TLS, [Config.ClientCertificate] parses the certificate the
// proxy forwards in a header, which MUST only be trusted from that proxy.
// A token bound to both a DPoP key and a certificate needs both: the DPoP
// scheme, a proof by the jkt key and the certificate (without
// [Config.DPoP] it is rejected), since either binding alone is what the
// authorization server promised the token's holder would be asked to
// prove. [Guard.MetadataHandler] then advertises
// tls_client_certificate_bound_access_tokens (RFC 9728). The accepted
// thumbprint stays in [Principal].Response.Confirmation.
package rs
