//go:build unix

package testserver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/tokengate/tokengate/internal/testproc"
)

// Postgres is a PostgreSQL server of its own, in a temporary data directory,
// listening on 127.0.0.1 only and trusting every local connection as the
// superuser "postgres".
type Postgres struct {
	// Port is the TCP port on 127.0.0.1.
	Port int

	bin  string // the directory of initdb, postgres, createdb
	dir  string // the data directory (the Unix socket lives there too)
	cred *syscall.Credential

	// mu guards proc, which Restart replaces.
	mu   sync.Mutex
	proc *testproc.Process
}

// postgresBin finds the newest PostgreSQL server binaries Debian installed.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("%w (PostgreSQL: Debian package postgresql)", ErrNotInstalled)
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// StartPostgres initialises a new cluster and starts it. Stop it with
// [Postgres.Close]. Durability is relaxed for speed (fsync off), not
// synchronous commit: what was committed survives a restart or a killed
// server, not a crash of the machine.
func StartPostgres() (*Postgres, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	cred, err := unprivileged()
	if err != nil {
		return nil, err
	}
	dir, err := tempDir("tokengate-pg-*", cred)
	if err != nil {
		return nil, err
	}
	if err := initCluster(bin, filepath.Join(dir, "data"), cred); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &Postgres{bin: bin, dir: dir, cred: cred}
	for attempt := 0; ; attempt++ {
		if p.Port, err = testproc.FreePort(); err != nil {
			break
		}
		if err = p.start(); err == nil {
			return p, nil
		}
		if attempt == 2 {
			break
		}
	}
	os.RemoveAll(dir)
	return nil, err
}

// template is a cluster initialised once per test binary and copied for
// each server, since initdb takes seconds on a busy machine. Only under
// [Main], which removes it at the end.
var template struct {
	once sync.Once
	dir  string
	err  error
}

// initCluster puts a new cluster in data, owned by cred.
func initCluster(bin, data string, cred *syscall.Credential) error {
	if !mainRunning.Load() {
		return initdb(bin, data, cred)
	}
	template.once.Do(func() {
		template.dir, template.err = tempDir("tokengate-pgtemplate-*", cred)
		if template.err == nil {
			template.err = initdb(bin, filepath.Join(template.dir, "data"), cred)
		}
	})
	if template.err != nil {
		return template.err
	}
	// cp -a keeps the owner and the 0700 mode PostgreSQL insists on.
	if out, err := exec.Command("cp", "-a", filepath.Join(template.dir, "data"), data).CombinedOutput(); err != nil {
		return fmt.Errorf("testserver: copy the template cluster: %v: %s", err, out)
	}
	return nil
}

func initdb(bin, data string, cred *syscall.Credential) error {
	proc, err := start("initdb", cred, filepath.Join(bin, "initdb"), "-D", data,
		"-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync", "--locale=C")
	if err != nil {
		return err
	}
	<-proc.Done()
	if proc.ExitCode() != 0 {
		return fmt.Errorf("testserver: initdb failed:\n%s", proc.Output())
	}
	return nil
}

// start runs the server on p.Port and waits until it accepts queries.
func (p *Postgres) start() error {
	proc, err := start("postgres", p.cred, filepath.Join(p.bin, "postgres"),
		"-D", filepath.Join(p.dir, "data"),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(p.Port),
		"-c", "unix_socket_directories="+p.dir,
		"-c", "fsync=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=64MB",
		"-c", "logging_collector=off", "-c", "log_min_messages=warning")
	if err != nil {
		return err
	}
	if err := p.waitReady(proc); err != nil {
		proc.Signal(syscall.SIGKILL, time.Second)
		return err
	}
	p.mu.Lock()
	p.proc = proc
	p.mu.Unlock()
	return nil
}

// waitReady polls pg_isready until the server accepts connections.
func (p *Postgres) waitReady(proc *testproc.Process) error {
	deadline := time.Now().Add(startTimeout)
	for {
		out, err := exec.Command(filepath.Join(p.bin, "pg_isready"), "-q", "-h", "127.0.0.1",
			"-p", strconv.Itoa(p.Port), "-U", "postgres").CombinedOutput()
		if err == nil {
			return nil
		}
		if proc.Exited() {
			return fmt.Errorf("testserver: postgres exited before it was ready; its output:\n%s", proc.Output())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testserver: postgres not ready after %v (%s); its output:\n%s", startTimeout, out, proc.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// DSN returns a connection URL for database db as the superuser.
func (p *Postgres) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// CreateDatabase creates a database with a fresh random name and returns
// its connection URL, so that tests sharing one server never see each
// other's tables.
func (p *Postgres) CreateDatabase() (string, error) {
	var b [6]byte
	rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	out, err := exec.Command(filepath.Join(p.bin, "createdb"), "-h", "127.0.0.1", "-p", strconv.Itoa(p.Port),
		"-U", "postgres", name).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("testserver: createdb: %v: %s", err, out)
	}
	return p.DSN(name), nil
}

// Restart stops the server (a fast shutdown: open connections are
// dropped) and starts it again on the same port and data.
func (p *Postgres) Restart() error {
	p.Stop()
	return p.start()
}

// Kill ends the server with SIGKILL, as a crash would; [Postgres.Start]
// brings it back (it recovers from its write-ahead log).
func (p *Postgres) Kill() {
	p.mu.Lock()
	proc := p.proc
	p.mu.Unlock()
	if proc != nil {
		proc.Signal(syscall.SIGKILL, time.Second)
	}
}

// Start starts a server that [Postgres.Stop] or [Postgres.Kill] ended.
func (p *Postgres) Start() error { return p.start() }

// Stop shuts the server down (fast shutdown) and leaves its data in place.
func (p *Postgres) Stop() {
	p.mu.Lock()
	proc := p.proc
	p.mu.Unlock()
	if proc != nil {
		// SIGINT is PostgreSQL's fast shutdown: roll back, then stop.
		proc.Signal(syscall.SIGINT, 10*time.Second)
	}
}

// Close stops the server and removes its data.
func (p *Postgres) Close() {
	p.Stop()
	os.RemoveAll(p.dir)
}
