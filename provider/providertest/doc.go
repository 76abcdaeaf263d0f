// Package providertest starts an in-process OAuth 2.0 authorization server
// (package provider, on an in-memory store) on a loopback httptest server,
// so that tests of protected handlers can run against real RFC 7662
// introspection in a few lines:
//
//	srv := providertest.New(t)
//	rs := srv.RegisterClient(provider.ClientSpec{Introspection: store.IntrospectAny})
//	app := srv.RegisterClient(provider.ClientSpec{Scopes: []string{"read"}})
//	tok := srv.Mint(providertest.Token{Client: app, Scopes: []string{"read"}})
//
// It also plays an authorization server that misbehaves, so that tests can
// check how protected handlers behave in an outage: [Server.Fail] injects a
// [Fault] (an error status with Retry-After, latency, a hung or dropped
// connection, a malformed answer) into one endpoint until [Server.Heal], and
// [Server.Calls] counts the requests each endpoint received, so a test can
// assert that a cache answered or that concurrent requests were coalesced:
//
//	srv.Fail(providertest.Fault{Status: 429, RetryAfter: 30 * time.Second})
//	... // the API answers 503 with Retry-After: 30
//	srv.Heal()
//	... // the API answers 200, twice
//	if n := srv.Calls(providertest.EndpointIntrospection); n != 2 {
//		t.Errorf("%d introspections, want 2: the second 200 should come from the cache", n)
//	}
//
// It is NOT suitable outside tests: its helpers panic or fail the test on
// misuse, and its state is lost when the test ends.
package providertest
