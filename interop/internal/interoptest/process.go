package interoptest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testproc"
)

// ErrNotInstalled means a peer's software is missing: run scripts/setup-peers.sh.
var ErrNotInstalled = errors.New("interoptest: peer not installed; run `bash scripts/setup-peers.sh` from the repository root (it needs root for apt-get)")

// startTimeout bounds how long a peer may take to answer its first request.
// Django migrates a fresh SQLite database first; on a busy 2-core CI machine
// that takes a few seconds.
const startTimeout = 60 * time.Second

// process is one running peer.
type process struct {
	*testproc.Process

	stopOnce sync.Once
	// afterStop runs once the process has stopped: removing its data.
	afterStop []func()
}

// startProcess starts argv in dir with the parent's environment (minus the
// variables in drop) plus env, in its own process group.
func startProcess(name, dir string, env map[string]string, drop []string, argv ...string) (*process, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = environ(env, drop)
	proc, err := testproc.Start(name, cmd)
	if err != nil {
		return nil, fmt.Errorf("interoptest: %w", err)
	}
	return &process{Process: proc}, nil
}

// environ returns os.Environ() without the variables named in drop and
// without any TOKENGATE_* (so a developer's shell cannot reconfigure a program
// under test), with env added. Proxies are bypassed for loopback, where every
// peer lives.
func environ(env map[string]string, drop []string) []string {
	skip := map[string]bool{"NO_PROXY": true, "no_proxy": true}
	for _, k := range drop {
		skip[k] = true
	}
	for k := range env {
		skip[k] = true
	}
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !skip[k] && !strings.HasPrefix(k, "TOKENGATE_") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return append(out, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
}

// waitReady polls url until the peer answers with one of the accepted
// statuses (any status if none is given), the process exits, or
// startTimeout passes.
func (p *process) waitReady(url string, accept ...int) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if len(accept) == 0 {
				return nil
			}
			for _, s := range accept {
				if resp.StatusCode == s {
					return nil
				}
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-p.Done():
			return fmt.Errorf("interoptest: %s exited before it was ready (%v); its output:\n%s", p.Name(), p.Err(), p.Output())
		case <-ctx.Done():
			return fmt.Errorf("interoptest: %s not ready at %s after %v (last: %s); its output:\n%s", p.Name(), url, startTimeout, last, p.Output())
		case <-tick.C:
		}
	}
}

// stop kills the peer's process group, waits for it and runs afterStop.
func (p *process) stop() {
	p.stopOnce.Do(func() {
		p.Kill()
		for _, f := range p.afterStop {
			f()
		}
	})
}

// launch starts a program on a free loopback port and waits until
// readyURL(port) answers with one of the accepted statuses (any, if none).
// start launches the program on port. When another process took the port
// between freePort and the program's own bind, it tries again, three times
// in all.
func launch(start func(port string) (*process, error), readyURL func(port string) string, accept ...int) (*process, string, error) {
	for attempt := 0; ; attempt++ {
		n, err := testproc.FreePort()
		if err != nil {
			return nil, "", err
		}
		port := strconv.Itoa(n)
		proc, err := start(port)
		if err != nil {
			return nil, "", err
		}
		err = proc.waitReady(readyURL(port), accept...)
		if err == nil {
			return proc, port, nil
		}
		proc.stop()
		if attempt < 2 && testproc.AddrInUse(proc.Output()) {
			continue
		}
		return nil, "", err
	}
}

// peer is what every running program of this package has: its process.
type peer struct {
	proc *process
}

// Logs returns the end of the program's output.
func (p *peer) Logs() string { return p.proc.Output() }

// Close stops the program and removes its data. It is safe to call more
// than once.
func (p *peer) Close() { p.proc.stop() }

// startPeer is the Start* form of a Launch* function: it fails t on err,
// and when t ends it stops p, logging its output first if t failed.
func startPeer[P interface {
	Logs() string
	Close()
}](t testing.TB, name string, p P, err error) P {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Logs())
		}
		p.Close()
	})
	return p
}

// repoRoot finds the module root (the directory holding go.mod) from the
// working directory, which go test sets to the package's directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("interoptest: %w", err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.Contains(data, []byte("module github.com/tokengate/tokengate\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("interoptest: cannot find the tokengate module root above the working directory")
		}
		dir = parent
	}
}
