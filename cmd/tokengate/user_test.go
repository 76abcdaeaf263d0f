package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/provider/users"
	userssqlite "github.com/tokengate/tokengate/provider/users/sqlite"
)

// signIn checks a password against the users of the database at db.
func signIn(t *testing.T, db, username, password string) error {
	t.Helper()
	st, err := userssqlite.Open(userssqlite.Config{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir, err := users.New(users.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	_, err = dir.Authenticate(context.Background(), username, password, "192.0.2.1")
	return err
}

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "tokengate.db")
	missing := filepath.Join(dir, "missing.db")

	created := runCLI(t, "correct horse\n", nil, "user", "create", "--db", db, "--username", "alice",
		"--email", "alice@example.com", "--name", "Alice Liddell", "--password-stdin", "--json")
	if created.code != exitOK {
		t.Fatalf("user create: %d %s", created.code, created.stderr)
	}
	var who map[string]string
	if err := json.Unmarshal([]byte(created.stdout), &who); err != nil || len(who["sub"]) < 20 || who["username"] != "alice" || len(who) != 2 {
		t.Fatalf("user create --json printed %q, want one object with sub and username", created.stdout)
	}
	if err := signIn(t, db, "alice", "correct horse"); err != nil {
		t.Errorf("alice cannot sign in with the password given on stdin: %v", err)
	}

	tests := []struct {
		name       string
		stdin      string
		args       []string
		vars       map[string]string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "text output", stdin: "battery staple\r\n", args: []string{"user", "create", "--db", db, "--username", "bob", "--password-stdin"},
			wantCode: exitOK, wantStdout: "username: bob"},
		{name: "taken", stdin: "battery staple\n", args: []string{"user", "create", "--db", db, "--username", "alice", "--password-stdin"},
			wantCode: exitFailure, wantStderr: `the username is taken: "alice"`},
		{name: "short password", stdin: "1234567\n", args: []string{"user", "create", "--db", db, "--username", "carol", "--password-stdin"},
			wantCode: exitUsage, wantStderr: "invalid password: shorter than 8 characters"},
		{name: "no username", stdin: "battery staple\n", args: []string{"user", "create", "--db", db, "--password-stdin"},
			wantCode: exitUsage, wantStderr: "--username is required"},
		{name: "bad username", stdin: "battery staple\n", args: []string{"user", "create", "--db", db, "--username", " carol", "--password-stdin"},
			wantCode: exitUsage, wantStderr: "invalid username: spaces around it"},
		{name: "no terminal and no --password-stdin", args: []string{"user", "create", "--db", db, "--username", "carol"},
			wantCode: exitUsage, wantStderr: "give --password-stdin"},
		{name: "no password flag", args: []string{"user", "create", "--db", db, "--username", "carol", "--password", "x"},
			wantCode: exitUsage, wantStderr: "unknown flag --password; did you mean --password-stdin?"},
		{name: "oversized password", stdin: strings.Repeat("p", users.MaxPasswordBytes+5), args: []string{"user", "create", "--db", db, "--username", "carol", "--password-stdin"},
			wantCode: exitUsage, wantStderr: "longer than 1024 bytes"},
		{name: "list", args: []string{"user", "list", "--db", db}, wantCode: exitOK, wantStdout: "alice     Alice Liddell  alice@example.com"},
		{name: "list from the environment", args: []string{"user", "list"}, vars: map[string]string{"TOKENGATE_DB": db}, wantCode: exitOK, wantStdout: who["sub"]},
		{name: "list of a missing database", args: []string{"user", "list", "--db", missing}, wantCode: exitFailure, wantStderr: "no database at"},
		{name: "passwd", stdin: "new password!\n", args: []string{"user", "passwd", "--db", db, "--username", "alice", "--password-stdin"},
			wantCode: exitOK, wantStdout: "password of alice changed"},
		{name: "passwd of an unknown user", stdin: "new password!\n", args: []string{"user", "passwd", "--db", db, "--username", "nobody", "--password-stdin"},
			wantCode: exitFailure, wantStderr: `no user "nobody"`},
		{name: "delete without username", args: []string{"user", "delete", "--db", db}, wantCode: exitUsage, wantStderr: "want the username"},
		{name: "delete", args: []string{"user", "delete", "--db", db, "bob"}, wantCode: exitOK, wantStdout: "deleted bob (sub "},
		{name: "delete twice", args: []string{"user", "delete", "--db", db, "bob"}, wantCode: exitFailure, wantStderr: `no user "bob"`},
		{name: "user without subcommand", args: []string{"user"}, wantCode: exitUsage, wantStderr: "\tpasswd      set a user's password"},
		{name: "user help create", args: []string{"user", "help", "create"}, wantCode: exitOK, wantStdout: "--password-stdin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.stdin, tt.vars, tt.args...)
			r.check(t, tt.wantCode, tt.wantStdout, tt.wantStderr)
			if tt.stdin != "" {
				assertNoSecrets(t, "output", r.stdout+r.stderr, strings.TrimSpace(tt.stdin))
			}
		})
	}
	if err := signIn(t, db, "alice", "new password!"); err != nil {
		t.Errorf("the password set by passwd does not work: %v", err)
	}
	if err := signIn(t, db, "alice", "correct horse"); err == nil {
		t.Error("the old password still works after passwd")
	}
	l := runCLI(t, "", nil, "user", "list", "--db", db, "--json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(l.stdout), &list); err != nil || len(list) != 1 || list[0]["sub"] != who["sub"] || list[0]["has_password"] != true {
		t.Errorf("user list --json = %s", l.stdout)
	}
	if strings.Contains(l.stdout, "argon2id") {
		t.Error("user list shows a password hash")
	}
}

// TestUserAndClientShareTheDatabase: users and clients live in one file,
// created by either command first.
func TestUserAndClientShareTheDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tokengate.db")
	runCLI(t, "correct horse\n", nil, "user", "create", "--db", db, "--username", "alice", "--password-stdin").check(t, exitOK, "sub:", "")
	runCLI(t, "", nil, "client", "create", "--db", db, "--name", "app", "--scopes", "a").check(t, exitOK, "client_id:", "")
	runCLI(t, "", nil, "client", "list", "--db", db).check(t, exitOK, "app", "")
	runCLI(t, "", nil, "user", "list", "--db", db).check(t, exitOK, "alice", "")
}
