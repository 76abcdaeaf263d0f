// Package interop holds the tests that run tokengate against real
// authorization servers: node oidc-provider 9.x and Django OAuth Toolkit 1.7
// (see docs/interop.md). They are behind the build tag interop and need the
// peers that scripts/setup-peers.sh installs:
//
//	bash scripts/setup-peers.sh && go test -race -tags interop ./...
//
// Without the tag this package is empty.
package interop
