// Package interoptest starts real authorization servers on loopback for the
// interop tests (build tag interop): node oidc-provider 9.x, and Django
// OAuth Toolkit 1.7 both as an authorization server and as a resource server
// that introspects another AS's tokens (RFC 7662).
//
// The peers are installed by scripts/setup-peers.sh; the helpers fail (they
// do not skip) when a peer is missing, with a message that says to run it.
// Each peer runs in its own process group on a free port of 127.0.0.1 and is
// stopped by Close, or by t.Cleanup for the Start* functions.
//
// This package is for tests only: it is NOT suitable outside them.
package interoptest
