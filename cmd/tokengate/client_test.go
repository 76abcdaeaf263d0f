package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// writeJWKS writes a public RSA JWK Set for encryption to a file.
func writeJWKS(t *testing.T, dir string) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "enc-1", Use: "enc", Algorithm: "RSA-OAEP-256"}}}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestClientCreate(t *testing.T) {
	dir := t.TempDir()
	jwks := writeJWKS(t, dir)
	notJSON := filepath.Join(dir, "not.json")
	os.WriteFile(notJSON, []byte("{nope"), 0o600)
	db := filepath.Join(dir, "tokengate.db")

	tests := []struct {
		name     string
		args     []string
		wantCode int
		// wantStderr is a substring of stderr; wantClient are members the
		// created client must show in "client list --json".
		wantStderr string
		wantClient map[string]any
	}{
		{
			name:       "token client",
			args:       []string{"--name", "app", "--scopes", "orders:read  orders:write", "--resource", "https://api.example"},
			wantCode:   exitOK,
			wantClient: map[string]any{"name": "app", "introspection": "none", "scopes": []any{"orders:read", "orders:write"}, "resources": []any{"https://api.example"}, "grant_types": []any{"client_credentials"}},
		},
		{
			name:       "resource server",
			args:       []string{"--name", "rs", "--introspect", "--resource", "https://api.example"},
			wantCode:   exitOK,
			wantClient: map[string]any{"introspection": "audience"},
		},
		{
			name:       "introspect any, signed answers",
			args:       []string{"--name", "gw", "--introspect-any", "--introspection-signed-response-alg", "ES256"},
			wantCode:   exitOK,
			wantClient: map[string]any{"introspection": "any", "introspection_signed_response_alg": "ES256"},
		},
		{
			name: "encrypted answers with a jwks file",
			args: []string{"--name", "enc", "--introspect", "--introspection-encrypted-response-alg", "RSA-OAEP-256",
				"--introspection-encrypted-response-enc", "A256GCM", "--jwks", jwks},
			wantCode: exitOK,
			wantClient: map[string]any{"introspection_encrypted_response_alg": "RSA-OAEP-256", "introspection_encrypted_response_enc": "A256GCM",
				"introspection_signed_response_alg": "RS256", "jwks": true},
		},
		{
			name: "encrypted answers with a jwks uri",
			args: []string{"--name", "enc2", "--introspect", "--introspection-encrypted-response-alg", "RSA-OAEP",
				"--jwks-uri", "https://rs.example/jwks.json"},
			wantCode:   exitOK,
			wantClient: map[string]any{"jwks_uri": "https://rs.example/jwks.json"},
		},
		{
			name:       "lifetime and JWT access tokens",
			args:       []string{"--name", "jwt", "--scopes", "a", "--resource", "https://api.example", "--token-lifetime", "15m", "--jwt-access-tokens"},
			wantCode:   exitOK,
			wantClient: map[string]any{"token_lifetime": "15m0s", "access_token_format": "jwt"},
		},
		{
			name:       "SQL metacharacters are data",
			args:       []string{"--name", `x'); DROP TABLE clients;--`, "--scopes", "a"},
			wantCode:   exitOK,
			wantClient: map[string]any{"name": `x'); DROP TABLE clients;--`},
		},
		{
			name: "a web app that signs users in",
			args: []string{"--name", "web", "--scopes", "openid profile orders:read", "--grant", "authorization_code", "--grant", "refresh_token",
				"--redirect-uri", "https://app.example/callback", "--redirect-uri", "http://127.0.0.1/callback",
				"--post-logout-redirect-uri", "https://app.example/", "--first-party", "--id-token-alg", "ES256"},
			wantCode: exitOK,
			wantClient: map[string]any{"grant_types": []any{"authorization_code", "refresh_token"},
				"redirect_uris":             []any{"https://app.example/callback", "http://127.0.0.1/callback"},
				"post_logout_redirect_uris": []any{"https://app.example/"}, "first_party": true, "id_token_signed_response_alg": "ES256"},
		},
		{name: "redirect URI with a fragment", args: []string{"--name", "x", "--redirect-uri", "https://app.example/cb#x"}, wantCode: exitUsage, wantStderr: "redirect"},
		{name: "unknown ID token alg", args: []string{"--name", "x", "--redirect-uri", "https://app.example/cb", "--id-token-alg", "HS256"}, wantCode: exitUsage, wantStderr: "HS256"},
		{name: "no name", args: []string{"--scopes", "a"}, wantCode: exitUsage, wantStderr: "--name is required"},
		{name: "both introspection rights", args: []string{"--name", "x", "--introspect", "--introspect-any"}, wantCode: exitUsage, wantStderr: "not both"},
		{name: "both jwks", args: []string{"--name", "x", "--introspect", "--introspection-encrypted-response-alg", "RSA-OAEP", "--jwks", jwks, "--jwks-uri", "https://rs.example/j"}, wantCode: exitUsage, wantStderr: "--jwks or --jwks-uri, not both"},
		{name: "encryption without a key", args: []string{"--name", "x", "--introspect", "--introspection-encrypted-response-alg", "RSA-OAEP"}, wantCode: exitUsage, wantStderr: "needs the client's key"},
		{name: "jwt answers without introspection", args: []string{"--name", "x", "--introspection-signed-response-alg", "RS256"}, wantCode: exitUsage, wantStderr: "need --introspect"},
		{name: "unknown signing alg", args: []string{"--name", "x", "--introspect", "--introspection-signed-response-alg", "none"}, wantCode: exitUsage, wantStderr: "invalid client registration"},
		{name: "unknown grant", args: []string{"--name", "x", "--grant", "password"}, wantCode: exitUsage, wantStderr: "password"},
		{name: "bad scope", args: []string{"--name", "x", "--scopes", `a"b`}, wantCode: exitUsage, wantStderr: "scope"},
		{name: "relative resource", args: []string{"--name", "x", "--resource", "/api"}, wantCode: exitUsage, wantStderr: "resource"},
		{name: "missing jwks file", args: []string{"--name", "x", "--introspect", "--introspection-encrypted-response-alg", "RSA-OAEP", "--jwks", filepath.Join(dir, "nope.json")}, wantCode: exitFailure, wantStderr: "--jwks"},
		{name: "jwks file not JSON", args: []string{"--name", "x", "--introspect", "--introspection-encrypted-response-alg", "RSA-OAEP", "--jwks", notJSON}, wantCode: exitUsage, wantStderr: "not JSON"},
		{name: "stray argument", args: []string{"--name", "x", "extra"}, wantCode: exitUsage, wantStderr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", nil, append([]string{"client", "create", "--db", db, "--json"}, tt.args...)...)
			if r.code != tt.wantCode {
				t.Fatalf("code %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", r.stderr, tt.wantStderr)
			}
			if tt.wantCode != exitOK {
				if r.stdout != "" {
					t.Errorf("stdout = %q on failure", r.stdout)
				}
				return
			}
			var created map[string]string
			if err := json.Unmarshal([]byte(r.stdout), &created); err != nil || !strings.HasPrefix(created["client_id"], "tgc_") || !strings.HasPrefix(created["client_secret"], "tg_cs_") {
				t.Fatalf("stdout %q is not {client_id, client_secret}", r.stdout)
			}
			l := runCLI(t, "", nil, "client", "list", "--db", db, "--json")
			assertNoSecrets(t, "client list", l.stdout, created["client_secret"])
			var list []map[string]any
			if err := json.Unmarshal([]byte(l.stdout), &list); err != nil {
				t.Fatalf("client list --json: %v\n%s", err, l.stdout)
			}
			var got map[string]any
			for _, c := range list {
				if c["client_id"] == created["client_id"] {
					got = c
				}
			}
			if got == nil {
				t.Fatalf("client %s not listed", created["client_id"])
			}
			for k, want := range tt.wantClient {
				gb, _ := json.Marshal(got[k])
				wb, _ := json.Marshal(want)
				if string(gb) != string(wb) {
					t.Errorf("%s = %s, want %s", k, gb, wb)
				}
			}
		})
	}
}

func TestClientCreatePublic(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tokengate.db")
	r := runCLI(t, "", nil, "client", "create", "--db", db, "--name", "spa", "--public", "--scopes", "openid",
		"--redirect-uri", "http://127.0.0.1:5173/callback", "--json")
	var created map[string]string
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &created) != nil || len(created) != 1 || !strings.HasPrefix(created["client_id"], "tgc_") {
		t.Fatalf("code %d, stdout %q, stderr %q: want {client_id} alone", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "", nil, "client", "create", "--db", db, "--name", "spa", "--public", "--scopes", "openid", "--redirect-uri", "http://127.0.0.1:5173/callback")
	if r.code != exitOK || strings.Contains(r.stdout, "client_secret") || !strings.Contains(r.stderr, "no secret") {
		t.Errorf("text output: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	l := runCLI(t, "", nil, "client", "list", "--db", db, "--json")
	if !strings.Contains(l.stdout, `"public": true`) {
		t.Errorf("client list does not show the public client: %s", l.stdout)
	}
}

func TestClientCreateText(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tokengate.db")
	r := runCLI(t, "", nil, "client", "create", "--db", db, "--name", "app", "--scopes", "a")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != exitOK || len(lines) != 2 || !strings.HasPrefix(lines[0], "client_id:     tgc_") || !strings.HasPrefix(lines[1], "client_secret: tg_cs_") {
		t.Errorf("code %d, stdout %q", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "cannot be shown again") {
		t.Errorf("stderr %q does not warn that the secret is shown once", r.stderr)
	}
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode: %v %v, want 0600 (it holds private keys)", fi.Mode(), err)
	}
}

func TestClientListDeleteAndKeys(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "tokengate.db")
	missing := filepath.Join(dir, "missing.db")
	// A file that is not a database: sqlite's error does not name it.
	garbage := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	id, _ := createClient(t, db, "--name", "line\nbreak", "--scopes", "a")

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
		vars       map[string]string
	}{
		{name: "list", args: []string{"client", "list", "--db", db}, wantCode: exitOK, wantStdout: id + "  line break  a"},
		{name: "list of a missing database", args: []string{"client", "list", "--db", missing}, wantCode: exitFailure, wantStderr: "no database at"},
		{name: "delete of a missing database", args: []string{"client", "delete", "--db", missing, id}, wantCode: exitFailure, wantStderr: "no database at"},
		{name: "delete without id", args: []string{"client", "delete", "--db", db}, wantCode: exitUsage, wantStderr: "want the id"},
		{name: "delete of an unknown client", args: []string{"client", "delete", "--db", db, "tgc_nope"}, wantCode: exitFailure, wantStderr: `no client "tgc_nope"`},
		{name: "delete", args: []string{"client", "delete", "--db", db, id}, wantCode: exitOK, wantStdout: "deleted " + id},
		{name: "deleted twice", args: []string{"client", "delete", "--db", db, id}, wantCode: exitFailure, wantStderr: "no client"},
		{name: "empty list", args: []string{"client", "list", "--db", db, "--json"}, wantCode: exitOK, wantStdout: "[]"},
		{name: "client without subcommand", args: []string{"client"}, wantCode: exitUsage, wantStderr: "\tcreate      register a client"},
		{name: "client unknown subcommand", args: []string{"client", "rename"}, wantCode: exitUsage, wantStderr: `tokengate client: unknown command "rename" (see "tokengate client help")`},
		{name: "client -h", args: []string{"client", "-h"}, wantCode: exitOK, wantStdout: "\tcreate      register a client"},
		{name: "client help create", args: []string{"client", "help", "create"}, wantCode: exitOK, wantStdout: "Usage: tokengate client create"},
		{name: "not a database", args: []string{"client", "list", "--db", garbage}, wantCode: exitFailure, wantStderr: "opening the database " + garbage + " (--db)"},
		{name: "the database from the environment", args: []string{"client", "list"}, vars: map[string]string{"TOKENGATE_DB": db}, wantCode: exitOK, wantStdout: "CLIENT_ID"},
		{name: "client create -h", args: []string{"client", "create", "-h"}, wantCode: exitOK, wantStdout: "-introspection-encrypted-response-enc"},
		{name: "rotate one family", args: []string{"keys", "rotate", "--db", db, "--alg", "EdDSA"}, wantCode: exitOK, wantStdout: "EdDSA  retired, published until"},
		{name: "rotate all", args: []string{"keys", "rotate", "--db", db}, wantCode: exitOK, wantStdout: "RS256  active"},
		{name: "rotate an unknown family", args: []string{"keys", "rotate", "--db", db, "--alg", "HS256"}, wantCode: exitUsage, wantStderr: `"HS256" is not`},
		{name: "rotate a missing database", args: []string{"keys", "rotate", "--db", missing}, wantCode: exitFailure, wantStderr: "no database at"},
		{name: "keys without subcommand", args: []string{"keys"}, wantCode: exitUsage, wantStderr: "\trotate      replace"},
		{name: "keys unknown subcommand", args: []string{"keys", "list"}, wantCode: exitUsage, wantStderr: `unknown command "list"`},
		{name: "keys -h", args: []string{"keys", "-h"}, wantCode: exitOK, wantStdout: "\trotate      replace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runCLI(t, "", tt.vars, tt.args...).check(t, tt.wantCode, tt.wantStdout, tt.wantStderr)
		})
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a command on a missing database created it")
	}
}
