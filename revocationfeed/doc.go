// Package revocationfeed receives the revocation events of an authorization
// server on every resource-server replica, and applies them: the verdict on
// a revoked token is dropped from the verdict cache (memory and shared
// tier), and a revoked JWT access token's jti is refused by the local
// validator until the token expires. A revocation then reaches the whole
// fleet in about the time of one long poll's answer, instead of the cache's
// MaxTTL.
//
//	feed, err := revocationfeed.New(revocationfeed.Config{
//		Issuer:       "https://as.example.com",
//		ClientID:     "orders-api", // the introspection credentials
//		ClientSecret: secret,
//		Cache:        cache,        // the *introspect.Cache the guard uses
//		JWT:          validator,    // a *jwtaccess.Validator, if JWTs are checked locally
//	})
//	if err != nil { ... }
//	defer feed.Close()
//
// Events are Security Event Tokens (RFC 8417) signed by the issuer, polled
// (RFC 8936) with a long poll from the endpoint the issuer's metadata names
// as revocation_events_endpoint, and, where the fleet shares Redis
// (Config.Redis), also relayed through Redis pub/sub. The wire format, and
// why, is in docs/revocation-events.md and docs/ARCHITECTURE.md.
//
// Missing events never makes things worse than having none: a cached
// verdict still lives at most the cache's MaxTTL. While the stream cannot
// be reached, the Subscriber says so (introspect.EventRevocationFeed
// "down", a Warn line at most every 10 seconds) and tries again with
// backoff, resuming from where it was.
package revocationfeed
