//go:build unix

package testserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// psql runs one statement on dsn and returns what it printed.
func psql(t *testing.T, dsn, sql string) (string, error) {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		t.Fatal(err)
	}
	psql := filepath.Join(bin, "psql")
	if _, err := exec.LookPath(psql); err != nil {
		psql = "psql"
	}
	out, err := exec.Command(psql, dsn, "-tAc", sql).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestPostgres: two databases of the shared server are apart, and a
// committed row outlives a SIGKILL of the server.
func TestPostgres(t *testing.T) {
	a, b := SharedPostgres(t), SharedPostgres(t)
	if a == b {
		t.Fatal("two calls gave the same database")
	}
	if out, err := psql(t, a, "CREATE TABLE x (v int); INSERT INTO x VALUES (42)"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out, err := psql(t, b, "SELECT v FROM x"); err == nil {
		t.Fatalf("database b sees a's table: %s", out)
	}

	pg, err := StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	dsn, err := pg.CreateDatabase()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := psql(t, dsn, "CREATE TABLE x (v int); INSERT INTO x VALUES (7)"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	pg.Kill()
	if _, err := psql(t, dsn, "SELECT 1"); err == nil {
		t.Fatal("the killed server still answers")
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	if out, err := psql(t, dsn, "SELECT v FROM x"); err != nil || out != "7" {
		t.Fatalf("after a crash and restart: %q, %v; want the committed row 7", out, err)
	}
}

// TestRedis: the server answers, refuses a bad command, and is gone after
// Stop.
func TestRedis(t *testing.T) {
	r, err := StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Do("SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := r.Do("NOSUCHCOMMAND"); err == nil {
		t.Fatal("an unknown command was accepted")
	}
	r.Stop()
	if err := r.Do("PING"); err == nil {
		t.Fatal("the stopped server still answers")
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	if err := r.Do("PING"); err != nil {
		t.Fatal(err)
	}
}

// TestNginx: nginx proxies to an upstream of ours.
func TestNginx(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "upstream saw "+r.URL.Path)
	}))
	defer up.Close()
	n, err := StartNginx(func(port int) string {
		return "server { listen 127.0.0.1:" + strconv.Itoa(port) + "; location / { proxy_pass " + up.URL + "; } }"
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	res, err := http.Get(n.URL() + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "upstream saw /hello" {
		t.Fatalf("body %q; nginx output:\n%s", body, n.Output())
	}
}
