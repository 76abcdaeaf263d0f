package interoptest

import (
	"fmt"
	"testing"
)

// Server is a program under test (such as an example) listening on a free
// loopback port that was given to it as ADDR.
type Server struct {
	// URL is http://ADDR.
	URL  string
	proc *process
}

// StartServer runs argv with env plus ADDR=127.0.0.1:PORT (and no TOKENGATE_*
// variable from the test's own environment), and waits until
// it answers any HTTP request at URL + "/". It fails t if the program exits
// or does not answer, and stops it (its whole process group) when t ends.
func StartServer(t testing.TB, name string, env map[string]string, argv ...string) *Server {
	t.Helper()
	s, err := launchServer(name, env, argv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output:\n%s", name, s.Logs())
		}
		s.Close()
	})
	return s
}

func launchServer(name string, env map[string]string, argv []string) (*Server, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("interoptest: StartServer(%s) needs a command", name)
	}
	all := make(map[string]string, len(env)+1)
	for k, v := range env {
		all[k] = v
	}
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		all["ADDR"] = "127.0.0.1:" + port
		proc, err := startProcess(name, "", all, nil, argv...)
		if err != nil {
			return nil, err
		}
		s := &Server{URL: "http://127.0.0.1:" + port, proc: proc}
		err = proc.waitReady(s.URL + "/")
		if err == nil {
			return s, nil
		}
		proc.stop()
		if attempt < 2 && addrInUse(proc.out.String()) {
			continue
		}
		return nil, err
	}
}

// Logs returns the end of the program's output.
func (s *Server) Logs() string { return s.proc.out.String() }

// Close stops the program. It is safe to call more than once.
func (s *Server) Close() { s.proc.stop() }
