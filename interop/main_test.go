//go:build interop

package interop

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/internal/interoptest"
)

// Each peer starts at most once per test binary, on first use, and stops in
// TestMain.
var peers struct {
	opOnce sync.Once
	op     *interoptest.OIDCProvider
	opErr  error

	dotOnce sync.Once
	dot     *interoptest.DOT
	dotErr  error
}

func oidcProvider(t testing.TB) *interoptest.OIDCProvider {
	t.Helper()
	peers.opOnce.Do(func() { peers.op, peers.opErr = interoptest.LaunchOIDCProvider(interoptest.OIDCProviderOptions{}) })
	if peers.opErr != nil {
		t.Fatal(peers.opErr)
	}
	return peers.op
}

func djangoOAuthToolkit(t testing.TB) *interoptest.DOT {
	t.Helper()
	peers.dotOnce.Do(func() { peers.dot, peers.dotErr = interoptest.LaunchDOT() })
	if peers.dotErr != nil {
		t.Fatal(peers.dotErr)
	}
	return peers.dot
}

func TestMain(m *testing.M) {
	code := m.Run()
	if peers.op != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "--- oidc-provider output:\n%s\n", peers.op.Logs())
		}
		peers.op.Close()
	}
	if peers.dot != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "--- Django OAuth Toolkit output:\n%s\n", peers.dot.Logs())
		}
		peers.dot.Close()
	}
	removeExampleBuilds()
	os.Exit(code)
}
