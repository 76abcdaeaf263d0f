package interoptest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Client is an OAuth client registered at a peer.
type Client struct {
	ID     string
	Secret string
}

// authServer is what the peers that play an authorization server share:
// their endpoints, and the client that gets and revokes tokens.
type authServer struct {
	TokenURL         string
	IntrospectionURL string
	RevocationURL    string
	// API gets tokens with client_credentials and may revoke them.
	API Client
}

// Token gets a token for scope from the API client by client_credentials.
// It fails t if the AS refuses.
func (a *authServer) Token(t testing.TB, scope string) string {
	t.Helper()
	return a.TokenForResource(t, scope, "")
}

// TokenForResource gets a token for scope and the resource indicator
// resource (RFC 8707; none if "") from the API client by client_credentials.
// It fails t if the AS refuses.
func (a *authServer) TokenForResource(t testing.TB, scope, resource string) string {
	t.Helper()
	tok, err := clientCredentials(a.TokenURL, a.API, scope, resource)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Revoke revokes token (RFC 7009) as the API client. It fails t if the AS
// refuses.
func (a *authServer) Revoke(t testing.TB, token string) {
	t.Helper()
	if err := revoke(a.RevocationURL, a.API, token); err != nil {
		t.Fatal(err)
	}
}

// httpClient talks to the peers; they all live on loopback.
var httpClient = &http.Client{Timeout: 15 * time.Second}

// Secret suffixes that RFC 6749 §2.3.1 requires to be form-urlencoded inside
// HTTP Basic credentials: a client that sends them raw fails against a peer
// that decodes them. oidc-provider only accepts printable ASCII (VSCHAR,
// RFC 6749 Appendix A) in a secret; DOT accepts any Unicode.
const (
	specialASCII   = ":%2B+&="
	specialUnicode = ":%2B+&=ü"
)

// randomSecret returns a fresh random secret followed by suffix.
func randomSecret(suffix string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b) + suffix
}

// PostForm sends form to endpoint, authenticated as c with
// client_secret_basic (id and secret form-urlencoded first, as RFC 6749
// §2.3.1 says). It returns the status, Content-Type and body (capped at 1 MiB).
func PostForm(endpoint string, c Client, form url.Values) (status int, contentType string, body []byte, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", nil, fmt.Errorf("interoptest: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.ID != "" {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", nil, fmt.Errorf("interoptest: POST %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, "", nil, fmt.Errorf("interoptest: POST %s: read: %w", endpoint, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body, nil
}

// clientCredentials gets an access token from tokenURL with the
// client_credentials grant (RFC 6749 §4.4).
func clientCredentials(tokenURL string, c Client, scope, resource string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	if resource != "" {
		form.Set("resource", resource)
	}
	status, _, body, err := PostForm(tokenURL, c, form)
	if err != nil {
		return "", err
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &tr) != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("interoptest: client_credentials at %s for %q: %d %s", tokenURL, scope, status, body)
	}
	return tr.AccessToken, nil
}

// revoke revokes token at revocationURL (RFC 7009) as c.
func revoke(revocationURL string, c Client, token string) error {
	status, _, body, err := PostForm(revocationURL, c, url.Values{"token": {token}, "token_type_hint": {"access_token"}})
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("interoptest: revoke at %s: %d %s", revocationURL, status, body)
	}
	return nil
}
