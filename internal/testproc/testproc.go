//go:build unix

// Package testproc runs the programs tests start beside themselves — peer
// servers such as node oidc-provider, Django, PostgreSQL, Redis or nginx —
// each in its own process group, with the end of its output kept for the
// test's failure message. On Linux the kernel kills the group's leader if
// the test binary dies first, so a crashed test leaves nothing listening.
//
// It is for tests only.
package testproc

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// outputCap is how much of a program's output is kept (the end of it).
const outputCap = 64 << 10

// tail keeps the last outputCap bytes written to it.
type tail struct {
	mu  sync.Mutex // guards buf
	buf []byte
}

func (b *tail) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - outputCap; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tail) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// Process is one running program.
type Process struct {
	name string
	cmd  *exec.Cmd
	out  *tail
	done chan struct{} // closed when the program has exited
	err  error         // Wait's result, readable after done is closed
}

// Start starts cmd, as prepared by the caller (path, arguments, Dir, Env),
// in a process group of its own, with its output kept. A Credential the
// caller set in cmd.SysProcAttr is kept; Stdout and Stderr are replaced.
// name names the program in errors.
func Start(name string, cmd *exec.Cmd) (*Process, error) {
	var cred *syscall.Credential
	if cmd.SysProcAttr != nil {
		cred = cmd.SysProcAttr.Credential
	}
	cmd.SysProcAttr = sysProcAttr()
	cmd.SysProcAttr.Credential = cred
	out := &tail{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testproc: start %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Name is the name given to Start.
func (p *Process) Name() string { return p.name }

// Output is the end of what the program wrote to stdout and stderr.
func (p *Process) Output() string { return p.out.String() }

// Done is closed when the program has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the program has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is how the program ended (exec.Cmd.Wait's error); nil until it has.
func (p *Process) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// ExitCode is the program's exit code, or -1 while it runs or if a signal
// ended it.
func (p *Process) ExitCode() int {
	if !p.Exited() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Signal sends sig to the program's process group and waits up to wait for
// the program to exit; if it has not, it kills the group and waits.
func (p *Process) Signal(sig syscall.Signal, wait time.Duration) {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
		return
	case <-time.After(wait):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// Kill kills the program's process group at once and waits for it.
func (p *Process) Kill() { p.Signal(syscall.SIGKILL, 10*time.Second) }

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process may take it before the program binds it: see [AddrInUse].
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testproc: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// AddrInUse reports whether a program's output says its port was taken
// between FreePort and its own bind, so that the caller can try another.
func AddrInUse(output string) bool {
	return strings.Contains(output, "EADDRINUSE") || strings.Contains(output, "Address already in use") ||
		strings.Contains(output, "That port is already in use")
}
