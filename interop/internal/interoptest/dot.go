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
	BaseURL string
	// The endpoints (TokenURL, IntrospectionURL, RevocationURL) and API,
	// which gets tokens with client_credentials (any of the scopes
	// orders:read, orders:write; orders:read when none is asked for) and
	// may revoke them (DOT deletes a revoked token).
	authServer
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

	peer
}

// StartDOT launches Django OAuth Toolkit as an authorization server for the
// duration of t. It fails t if the peer is not installed or does not start.
func StartDOT(t testing.TB) *DOT {
	t.Helper()
	d, err := LaunchDOT()
	return startPeer(t, "Django OAuth Toolkit", d, err)
}

// LaunchDOT starts Django OAuth Toolkit (interop/testdata/dot, with the
// Debian package installed by scripts/setup-peers.sh) on a free loopback
// port with a fresh SQLite database, and waits until it answers. The caller
// must Close it.
func LaunchDOT() (*DOT, error) {
	d := &DOT{
		authServer:         authServer{API: Client{ID: "api-client", Secret: randomSecret("")}},
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
	proc, base, err := launchDjango("Django OAuth Toolkit", setup, nil)
	if err != nil {
		return nil, err
	}
	d.proc, d.BaseURL = proc, base
	d.TokenURL = base + "/o/token/"
	d.IntrospectionURL = base + "/o/introspect/"
	d.RevocationURL = base + "/o/revoke_token/"
	return d, nil
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

	peer
}

// StartDOTResourceServer launches Django OAuth Toolkit as a resource server
// for the duration of t. It fails t if the peer is not installed or does not start.
func StartDOTResourceServer(t testing.TB, opts DOTResourceServerOptions) *DOTResourceServer {
	t.Helper()
	r, err := LaunchDOTResourceServer(opts)
	return startPeer(t, "Django OAuth Toolkit (resource server)", r, err)
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
	proc, base, err := launchDjango("Django OAuth Toolkit (resource server)", nil, env)
	if err != nil {
		return nil, err
	}
	return &DOTResourceServer{BaseURL: base, HelloURL: base + "/api/hello", peer: peer{proc}}, nil
}

// launchDjango runs interop/testdata/dot's tokengate_serve command (migrate,
// load setup, runserver) on a free port with a new data directory, removed
// when the process stops, and waits until it answers.
func launchDjango(name string, setup any, env map[string]string) (proc *process, base string, err error) {
	root, err := repoRoot()
	if err != nil {
		return nil, "", err
	}
	if _, err := os.Stat(debianPython); err != nil {
		return nil, "", fmt.Errorf("%w: %s is missing", ErrNotInstalled, debianPython)
	}
	if _, err := os.Stat(dotPackage); err != nil {
		return nil, "", fmt.Errorf("%w: python3-django-oauth-toolkit (%s) is missing", ErrNotInstalled, dotPackage)
	}
	dir := filepath.Join(root, "interop", "testdata", "dot")
	setupJSON, err := json.Marshal(setup)
	if err != nil {
		return nil, "", fmt.Errorf("interoptest: %w", err)
	}
	proc, port, err := launch(func(port string) (*process, error) {
		dataDir, err := os.MkdirTemp("", "tokengate-dot-")
		if err != nil {
			return nil, fmt.Errorf("interoptest: %w", err)
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
		proc, err := startProcess(name, dir, all, drop, debianPython, "manage.py", "tokengate_serve", "127.0.0.1:"+port)
		if err != nil {
			os.RemoveAll(dataDir)
			return nil, err
		}
		proc.afterStop = append(proc.afterStop, func() { os.RemoveAll(dataDir) })
		return proc, nil
	}, func(port string) string {
		// Any answer means runserver is up; migrations and setup ran before it.
		return "http://127.0.0.1:" + port + "/o/introspect/"
	}, 403)
	if err != nil {
		return nil, "", err
	}
	return proc, "http://127.0.0.1:" + port, nil
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
