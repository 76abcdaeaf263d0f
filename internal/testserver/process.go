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
	"sync"
	"syscall"
	"time"
)

// ErrNotInstalled means a server's software is missing from this machine.
var ErrNotInstalled = errors.New("testserver: not installed; run `bash scripts/setup-peers.sh` from the repository root (it installs the Debian packages postgresql, redis-server and nginx; it needs root for apt-get)")

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 60 * time.Second

// logCap is how much of a server's output is kept (the end of it).
const logCap = 32 << 10

// tail keeps the last logCap bytes written to it.
type tail struct {
	mu  sync.Mutex // guards buf
	buf []byte
}

func (b *tail) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - logCap; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tail) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// process is one running server.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *tail
	done chan struct{} // closed when the process has exited
}

// start runs argv as cred (nil: as ourselves) in its own process group.
func start(name string, cred *syscall.Credential, argv ...string) (*process, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = sysProcAttr()
	cmd.SysProcAttr.Credential = cred
	out := &tail{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testserver: start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process group and waits up to wait for the
// process to end; it kills the group if it has not.
func (p *process) signal(sig syscall.Signal, wait time.Duration) {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
		return
	case <-time.After(wait):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// waitTCP waits until addr accepts a connection, the process exits, or
// startTimeout passes.
func (p *process) waitTCP(addr string) error {
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			return fmt.Errorf("testserver: %s exited before it listened on %s; its output:\n%s", p.name, addr, p.out)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testserver: %s not listening on %s after %v; its output:\n%s", p.name, addr, startTimeout, p.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testserver: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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
