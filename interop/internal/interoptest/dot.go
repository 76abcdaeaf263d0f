package interoptest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Debian 12's interpreter and the place python3-django-oauth-toolkit
// installs to. The python3 on PATH may be another one (pyenv).
const (
	debianPython = "/usr/bin/python3"
	dotPackage   = "/usr/lib/python3/dist-packages/oauth2_provider/__init__.py"
)

// DOT is a running Django OAuth Toolkit 1.7 authorization server. It has no
// discovery document: use IntrospectionURL directly.
type DOT struct {
	// BaseURL is http://127.0.0.1:PORT.
	BaseURL          string
	TokenURL         string
	IntrospectionURL string
	RevocationURL    string

	// API gets tokens with client_credentials (any of the scopes
	// orders:read, orders:write; orders:read when none is asked for).
	API Client
	// RS is a confidential client that may introspect with its credentials
	// (HTTP Basic or in the form body). Its secret contains characters that
	// must be form-urlencoded in Basic credentials (RFC 6749 §2.3.1). It may
	// also get a token with the scope "introspection" by client_credentials.
	RS Client
	// IntrospectionToken is a bearer token of RS with the scope
	// "introspection", DOT's RESOURCE_SERVER_AUTH_TOKEN style.
	IntrospectionToken string
	// UserToken is an access token bound to the user "alice" with the scope
	// "orders:read" (as if from the authorization-code grant): its
	// introspection answer carries a username.
	UserToken string

	proc    *process
	dataDir string
}

// StartDOT launches Django OAuth Toolkit as an authorization server for the
// duration of t. It fails t if the peer is not installed or does not start.
func StartDOT(t testing.TB) *DOT {
	t.Helper()
	d, err := LaunchDOT()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Django OAuth Toolkit output:\n%s", d.Logs())
		}
		d.Close()
	})
	return d
}

// LaunchDOT starts Django OAuth Toolkit (interop/testdata/dot, with the
// Debian package installed by scripts/setup-peers.sh) on a free loopback
// port with a fresh SQLite database, and waits until it answers. The caller
// must Close it.
func LaunchDOT() (*DOT, error) {
	d := &DOT{
		API:                Client{ID: "api-client", Secret: randomSecret("")},
		RS:                 Client{ID: "rs-client", Secret: randomSecret(specialUnicode)},
		IntrospectionToken: "introspect-" + randomHex(),
		UserToken:          "user-" + randomHex(),
	}
	setup := map[string]any{
		"users": []string{"alice"},
		"applications": []map[string]string{
			{"name": "API", "client_id": d.API.ID, "client_secret": d.API.Secret},
			{"name": "Resource server", "client_id": d.RS.ID, "client_secret": d.RS.Secret},
		},
		"tokens": []map[string]any{
			{"token": d.IntrospectionToken, "client_id": d.RS.ID, "scope": "introspection", "expires_in": 3600},
			{"token": d.UserToken, "client_id": d.API.ID, "scope": "orders:read", "expires_in": 3600, "username": "alice"},
		},
	}
	proc, dataDir, base, err := launchDjango("Django OAuth Toolkit", setup, nil)
	if err != nil {
		return nil, err
	}
	d.proc, d.dataDir, d.BaseURL = proc, dataDir, base
	d.TokenURL = base + "/o/token/"
	d.IntrospectionURL = base + "/o/introspect/"
	d.RevocationURL = base + "/o/revoke_token/"
	return d, nil
}

// Token gets a token for scope from the API client by client_credentials.
// It fails t if the AS refuses.
func (d *DOT) Token(t testing.TB, scope string) string {
	t.Helper()
	tok, err := clientCredentials(d.TokenURL, d.API, scope)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Revoke revokes token (RFC 7009) as the API client; DOT deletes it. It
// fails t if the AS refuses.
func (d *DOT) Revoke(t testing.TB, token string) {
	t.Helper()
	if err := revoke(d.RevocationURL, d.API, token); err != nil {
		t.Fatal(err)
	}
}

// Logs returns the end of the peer's output.
func (d *DOT) Logs() string { return d.proc.out.String() }

// Close stops the peer and removes its database. It is safe to call more than once.
func (d *DOT) Close() {
	d.proc.stop()
	_ = os.RemoveAll(d.dataDir)
}

// DOTResourceServerOptions configures [LaunchDOTResourceServer]: which AS
// Django OAuth Toolkit asks about tokens, and how it authenticates there.
type DOTResourceServerOptions struct {
	// IntrospectionURL is RESOURCE_SERVER_INTROSPECTION_URL. Required.
	IntrospectionURL string
	// ClientID and ClientSecret are RESOURCE_SERVER_INTROSPECTION_CREDENTIALS.
	// DOT 1.7 sends them in HTTP Basic *without* form-urlencoding them first.
	ClientID     string
	ClientSecret string
	// AuthToken is RESOURCE_SERVER_AUTH_TOKEN, a bearer token sent instead of
	// the credentials when set.
	AuthToken string
	// RequiredScopes are the scopes /api/hello requires, space separated.
	// Defaults to "orders:read".
	RequiredScopes string
	// CacheSeconds is RESOURCE_SERVER_TOKEN_CACHING_SECONDS: how long DOT
	// keeps an active verdict (capped by the token's exp) before it asks
	// again. Defaults to 1. DOT's own default is 36000; DOT refuses every
	// token when it is 0, so it cannot be switched off.
	CacheSeconds int
}

// DOTResourceServer is a running Django OAuth Toolkit 1.7 that protects
// HelloURL by asking another authorization server about every token
// (RFC 7662). It answers 200 with {"scope", "username", "expires"} for a
// token that is active and has the required scopes, and 403 (DOT sends no
// 401 and no WWW-Authenticate) for anything else. It keeps an active verdict
// for CacheSeconds (1 by default), so a revocation shows after that.
type DOTResourceServer struct {
	BaseURL  string
	HelloURL string

	proc    *process
	dataDir string
}

// StartDOTResourceServer launches Django OAuth Toolkit as a resource server
// for the duration of t. It fails t if the peer is not installed or does not start.
func StartDOTResourceServer(t testing.TB, opts DOTResourceServerOptions) *DOTResourceServer {
	t.Helper()
	r, err := LaunchDOTResourceServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Django OAuth Toolkit (resource server) output:\n%s", r.Logs())
		}
		r.Close()
	})
	return r
}

// LaunchDOTResourceServer starts Django OAuth Toolkit as a resource server
// pointed at opts.IntrospectionURL. The caller must Close it.
func LaunchDOTResourceServer(opts DOTResourceServerOptions) (*DOTResourceServer, error) {
	if opts.IntrospectionURL == "" {
		return nil, fmt.Errorf("interoptest: DOTResourceServerOptions.IntrospectionURL is required")
	}
	if opts.AuthToken == "" && opts.ClientID == "" {
		return nil, fmt.Errorf("interoptest: DOTResourceServerOptions needs ClientID/ClientSecret or AuthToken")
	}
	if opts.RequiredScopes == "" {
		opts.RequiredScopes = "orders:read"
	}
	if opts.CacheSeconds < 0 {
		return nil, fmt.Errorf("interoptest: DOTResourceServerOptions.CacheSeconds is negative")
	}
	if opts.CacheSeconds == 0 {
		opts.CacheSeconds = 1
	}
	env := map[string]string{
		"DOT_RS_INTROSPECTION_URL": opts.IntrospectionURL,
		"DOT_RS_REQUIRED_SCOPES":   opts.RequiredScopes,
		"DOT_RS_CACHE_SECONDS":     strconv.Itoa(opts.CacheSeconds),
	}
	if opts.AuthToken != "" {
		env["DOT_RS_AUTH_TOKEN"] = opts.AuthToken
	} else {
		env["DOT_RS_CLIENT_ID"] = opts.ClientID
		env["DOT_RS_CLIENT_SECRET"] = opts.ClientSecret
	}
	proc, dataDir, base, err := launchDjango("Django OAuth Toolkit (resource server)", nil, env)
	if err != nil {
		return nil, err
	}
	return &DOTResourceServer{BaseURL: base, HelloURL: base + "/api/hello", proc: proc, dataDir: dataDir}, nil
}

// Logs returns the end of the peer's output.
func (r *DOTResourceServer) Logs() string { return r.proc.out.String() }

// Close stops the peer and removes its database. It is safe to call more than once.
func (r *DOTResourceServer) Close() {
	r.proc.stop()
	_ = os.RemoveAll(r.dataDir)
}

// launchDjango runs interop/testdata/dot's tokengate_serve command (migrate,
// load setup, runserver) on a free port and waits until it answers.
func launchDjango(name string, setup any, env map[string]string) (proc *process, dataDir, base string, err error) {
	root, err := repoRoot()
	if err != nil {
		return nil, "", "", err
	}
	if _, err := os.Stat(debianPython); err != nil {
		return nil, "", "", fmt.Errorf("%w: %s is missing", ErrNotInstalled, debianPython)
	}
	if _, err := os.Stat(dotPackage); err != nil {
		return nil, "", "", fmt.Errorf("%w: python3-django-oauth-toolkit (%s) is missing", ErrNotInstalled, dotPackage)
	}
	dir := filepath.Join(root, "interop", "testdata", "dot")
	setupJSON, err := json.Marshal(setup)
	if err != nil {
		return nil, "", "", fmt.Errorf("interoptest: %w", err)
	}
	for attempt := 0; ; attempt++ {
		dataDir, err = os.MkdirTemp("", "tokengate-dot-")
		if err != nil {
			return nil, "", "", fmt.Errorf("interoptest: %w", err)
		}
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dataDir)
			return nil, "", "", err
		}
		all := map[string]string{
			"DOT_DATA_DIR":            dataDir,
			"DOT_SECRET_KEY":          randomHex(),
			"DOT_SETUP":               string(setupJSON),
			"DJANGO_SETTINGS_MODULE":  "tokengate_dot.settings",
			"PYTHONDONTWRITEBYTECODE": "1",
			"PYTHONUNBUFFERED":        "1",
			"TZ":                      "UTC",
		}
		for k, v := range env {
			all[k] = v
		}
		drop := []string{"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"}
		proc, err = startProcess(name, dir, all, drop, debianPython, "manage.py", "tokengate_serve", "127.0.0.1:"+port)
		if err != nil {
			os.RemoveAll(dataDir)
			return nil, "", "", err
		}
		base = "http://127.0.0.1:" + port
		// Any answer means runserver is up; migrations and setup ran before it.
		err = proc.waitReady(base+"/o/introspect/", 403)
		if err == nil {
			return proc, dataDir, base, nil
		}
		proc.stop()
		os.RemoveAll(dataDir)
		if attempt < 2 && addrInUse(proc.out.String()) {
			continue
		}
		return nil, "", "", err
	}
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
