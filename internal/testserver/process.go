//go:build unix

package testserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"github.com/tokengate/tokengate/internal/testproc"
)

// ErrNotInstalled means a server's software is missing from this machine.
var ErrNotInstalled = errors.New("testserver: not installed; run `bash scripts/setup-peers.sh` from the repository root (it installs the Debian packages postgresql, redis-server and nginx; it needs root for apt-get)")

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 60 * time.Second

// start runs argv as cred (nil: as ourselves), in a process group of its own.
func start(name string, cred *syscall.Credential, argv ...string) (*testproc.Process, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return testproc.Start(name, cmd)
}

// waitTCP waits until addr accepts a connection, p exits, or startTimeout
// passes.
func waitTCP(p *testproc.Process, addr string) error {
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("testserver: %s exited before it listened on %s; its output:\n%s", p.Name(), addr, p.Output())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testserver: %s not listening on %s after %v; its output:\n%s", p.Name(), addr, startTimeout, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// unprivileged returns the credential to run a server that refuses to run
// as root (PostgreSQL) under: nil when we are not root, else the postgres
// user if it exists, or nobody.
func unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, errors.New("testserver: running as root and there is neither a postgres nor a nobody user to run the server as")
}

// tempDir makes a temporary directory owned by cred (if not nil).
func tempDir(pattern string, cred *syscall.Credential) (string, error) {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", fmt.Errorf("testserver: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("testserver: %w", err)
		}
	}
	return dir, nil
}

// lookPath finds the first of names on PATH or at an absolute path.
func lookPath(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w (looked for %v)", ErrNotInstalled, names)
}
