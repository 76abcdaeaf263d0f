//go:build unix

package testserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/tokengate/tokengate/internal/testproc"
)

// Nginx is an nginx of its own on 127.0.0.1, one process, logging errors to
// its output.
type Nginx struct {
	// Port is the TCP port on 127.0.0.1 the configuration was given.
	Port int

	dir  string
	proc *testproc.Process
}

// StartNginx starts nginx with the http-block directives that httpConf
// returns for the port it is given to listen on (it should contain a
// server with "listen 127.0.0.1:PORT;"). Temporary paths, the pid file and
// logs are set up here. Close it with [Nginx.Close].
func StartNginx(httpConf func(port int) string) (*Nginx, error) {
	bin, err := lookPath("nginx", "/usr/sbin/nginx")
	if err != nil {
		return nil, fmt.Errorf("%w (nginx: Debian package nginx)", err)
	}
	dir, err := tempDir("tokengate-nginx-*", nil)
	if err != nil {
		return nil, err
	}
	n := &Nginx{dir: dir}
	for attempt := 0; ; attempt++ {
		if n.Port, err = testproc.FreePort(); err != nil {
			break
		}
		if err = n.start(bin, httpConf(n.Port)); err == nil {
			return n, nil
		}
		if attempt == 2 {
			break
		}
	}
	os.RemoveAll(dir)
	return nil, err
}

func (n *Nginx) start(bin, httpConf string) error {
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
%[2]s
}
`, n.dir, httpConf)
	path := filepath.Join(n.dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("testserver: %w", err)
	}
	proc, err := start("nginx", nil, bin, "-p", n.dir, "-c", path, "-e", "stderr")
	if err != nil {
		return err
	}
	if err := waitTCP(proc, "127.0.0.1:"+strconv.Itoa(n.Port)); err != nil {
		proc.Signal(syscall.SIGKILL, time.Second)
		return err
	}
	n.proc = proc
	return nil
}

// URL is the base URL of the server.
func (n *Nginx) URL() string { return "http://127.0.0.1:" + strconv.Itoa(n.Port) }

// Output is the end of what nginx wrote (its error log).
func (n *Nginx) Output() string { return n.proc.Output() }

// Close stops nginx and removes its directory.
func (n *Nginx) Close() {
	n.proc.Signal(syscall.SIGQUIT, 5*time.Second)
	os.RemoveAll(n.dir)
}
