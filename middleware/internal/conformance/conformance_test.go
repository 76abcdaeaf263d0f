package conformance_test

import (
	"net/http"
	"testing"

	"github.com/tokengate/tokengate/middleware/internal/conformance"
	"github.com/tokengate/tokengate/middleware/nethttp"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/scopes"
)

// adapters is every framework adapter; adding one is one line here.
var adapters = []conformance.Adapter{
	{Name: "net/http", Build: netHTTP},
}

func TestConformance(t *testing.T) { conformance.Run(t, adapters...) }

func netHTTP(g *rs.Guard, req scopes.Requirement) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", conformance.Answer)
	return nethttp.MustNew(nethttp.Config{Guard: g, Require: req})(mux)
}
