package interoptest

import (
	"fmt"
	"testing"
)

// Server is a program under test (such as an example) listening on a free
// loopback port that was given to it as ADDR.
type Server struct {
	// URL is http://ADDR.
	URL string
	peer
}

// StartServer runs argv with env plus ADDR=127.0.0.1:PORT (and no TOKENGATE_*
// variable from the test's own environment), and waits until
// it answers any HTTP request at URL + "/". It fails t if the program exits
// or does not answer, and stops it (its whole process group) when t ends.
func StartServer(t testing.TB, name string, env map[string]string, argv ...string) *Server {
	t.Helper()
	s, err := launchServer(name, env, argv)
	return startPeer(t, name, s, err)
}

func launchServer(name string, env map[string]string, argv []string) (*Server, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("interoptest: StartServer(%s) needs a command", name)
	}
	all := make(map[string]string, len(env)+1)
	for k, v := range env {
		all[k] = v
	}
	proc, port, err := launch(func(port string) (*process, error) {
		all["ADDR"] = "127.0.0.1:" + port
		return startProcess(name, "", all, nil, argv...)
	}, func(port string) string { return "http://127.0.0.1:" + port + "/" })
	if err != nil {
		return nil, err
	}
	return &Server{URL: "http://127.0.0.1:" + port, peer: peer{proc}}, nil
}
