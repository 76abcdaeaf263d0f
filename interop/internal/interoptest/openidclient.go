package interoptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// OpenIDClientOptions configures [RunOpenIDClient].
type OpenIDClientOptions struct {
	// Issuer is the OpenID Provider's issuer URL.
	Issuer string
	// ClientID and ClientSecret are the client's; an empty secret makes
	// it a public client (PKCE only).
	ClientID, ClientSecret string
	// RedirectURI is the client's registered redirect URI; it is never
	// opened.
	RedirectURI string
	// Scope is the scope to ask for.
	Scope string
	// Username and Password are the user who signs in.
	Username, Password string
}

// OpenIDClientResult is what node openid-client saw: every check it makes
// (discovery, PKCE, state, nonce, the ID token's signature and claims, the
// RFC 9207 iss) passed, or RunOpenIDClient failed.
type OpenIDClientResult struct {
	IDTokenClaims          map[string]any `json:"id_token_claims"`
	Userinfo               map[string]any `json:"userinfo"`
	Scope                  string         `json:"scope"`
	AccessToken            string         `json:"access_token"`
	RefreshToken           string         `json:"refresh_token"`
	RefreshedAccessToken   string         `json:"refreshed_access_token"`
	RefreshedRefreshToken  string         `json:"refreshed_refresh_token"`
	RefreshedIDTokenClaims map[string]any `json:"refreshed_id_token_claims"`
	CallbackHasIss         bool           `json:"callback_has_iss"`
	Steps                  []string       `json:"steps"`
}

// RunOpenIDClient runs interop/testdata/openid-client/rp.mjs (node
// openid-client 6.x, installed by scripts/setup-peers.sh): a relying party
// that signs the user in through the provider's own pages with a scripted
// user agent, redeems the code, validates the ID token, reads userinfo and
// refreshes once.
func RunOpenIDClient(ctx context.Context, opts OpenIDClientOptions) (*OpenIDClientResult, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, "interop", "testdata", "openid-client")
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: node is not on PATH", ErrNotInstalled)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openid-client", "package.json")); err != nil {
		return nil, fmt.Errorf("%w: %s has no node_modules/openid-client", ErrNotInstalled, dir)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "rp.mjs")
	cmd.Dir = dir
	cmd.Env = environ(map[string]string{
		"RP_ISSUER": opts.Issuer, "RP_CLIENT_ID": opts.ClientID, "RP_CLIENT_SECRET": opts.ClientSecret,
		"RP_REDIRECT_URI": opts.RedirectURI, "RP_SCOPE": opts.Scope,
		"RP_USERNAME": opts.Username, "RP_PASSWORD": opts.Password,
	}, []string{"NODE_OPTIONS"})
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("openid-client: %w\n%s", err, stderr.String())
	}
	var r OpenIDClientResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("openid-client printed %q: %w", stdout.String(), err)
	}
	return &r, nil
}
