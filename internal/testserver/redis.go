//go:build unix

package testserver

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tokengate/tokengate/internal/testproc"
)

// Redis is a redis-server of its own on 127.0.0.1, with persistence off.
type Redis struct {
	// Port is the TCP port on 127.0.0.1.
	Port int

	bin string
	dir string

	// mu guards proc, which Start replaces.
	mu   sync.Mutex
	proc *testproc.Process
}

// StartRedis starts a Redis server. Close it with [Redis.Close].
func StartRedis() (*Redis, error) {
	bin, err := lookPath("redis-server", "/usr/bin/redis-server")
	if err != nil {
		return nil, fmt.Errorf("%w (Redis: Debian package redis-server)", err)
	}
	dir, err := tempDir("tokengate-redis-*", nil)
	if err != nil {
		return nil, err
	}
	r := &Redis{bin: bin, dir: dir}
	for attempt := 0; ; attempt++ {
		if r.Port, err = testproc.FreePort(); err != nil {
			break
		}
		if err = r.Start(); err == nil {
			return r, nil
		}
		if attempt == 2 {
			break
		}
	}
	os.RemoveAll(dir)
	return nil, err
}

// Addr is the server's host:port.
func (r *Redis) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.Port) }

// URL is the server's redis:// URL.
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

// Start starts a server that [Redis.Stop] ended, on the same port.
func (r *Redis) Start() error {
	proc, err := start("redis-server", nil, r.bin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(r.Port), "--dir", r.dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning")
	if err != nil {
		return err
	}
	if err := r.waitPong(proc); err != nil {
		proc.Signal(syscall.SIGKILL, time.Second)
		return err
	}
	r.mu.Lock()
	r.proc = proc
	r.mu.Unlock()
	return nil
}

// waitPong waits until the server answers PING.
func (r *Redis) waitPong(proc *testproc.Process) error {
	if err := waitTCP(proc, r.Addr()); err != nil {
		return err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		if err := r.Do("PING"); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("testserver: redis not answering PING: %v; its output:\n%s", err, proc.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Do sends one command, for tests that need to reach into the server
// (FLUSHALL, CONFIG SET, DEBUG SLEEP), and fails on an error reply. The
// arguments must not contain spaces or line breaks.
func (r *Redis) Do(args ...string) error {
	c, err := net.DialTimeout("tcp", r.Addr(), 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.HasPrefix(line, "-") {
		return fmt.Errorf("redis: %s", strings.TrimSpace(line[1:]))
	}
	return nil
}

// Stop ends the server (its data is gone: persistence is off).
func (r *Redis) Stop() {
	r.mu.Lock()
	proc := r.proc
	r.mu.Unlock()
	if proc != nil {
		proc.Signal(syscall.SIGTERM, 5*time.Second)
	}
}

// Close stops the server and removes its directory.
func (r *Redis) Close() {
	r.Stop()
	os.RemoveAll(r.dir)
}
