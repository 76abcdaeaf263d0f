package provider

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/provider/store"
)

// basicRealm is the realm of the Basic challenge sent on failed client
// authentication (RFC 6749 §5.2, RFC 7617).
const basicRealm = `Basic realm="tokengate", charset="UTF-8"`

// dummyHash is compared against when the client id is unknown (or names a
// public client), so that the time taken does not tell whether the id
// exists: either way the presented secret is hashed and compared once, and
// the registration — or its absence — comes from the client cache after
// the first request (see Provider.client).
var dummyHash = store.Hash("tokengate: no such client")

// credentials are what a request presented to authenticate a client.
type credentials struct {
	// candidates are (id, secret) pairs to try, in order: for Basic, the
	// RFC 6749 §2.3.1 form-urldecoded values first, then the raw ones.
	candidates [][2]string
	hasSecret  bool
}

// readCredentials extracts client credentials from the Authorization header
// (Basic) or the form (client_secret_post, or client_id alone for a public
// client). Using both methods at once is invalid_request (RFC 6749 §2.3).
func readCredentials(r *http.Request, form url.Values) (*credentials, *oauthError) {
	authz := r.Header.Values("Authorization")
	if len(authz) > 1 {
		return nil, errInvalidRequest("more than one Authorization header")
	}
	postID, postSecret := form.Get("client_id"), form.Get("client_secret")
	_, hasPostSecret := form["client_secret"]
	if len(authz) == 1 {
		scheme, payload, _ := strings.Cut(authz[0], " ")
		if !strings.EqualFold(scheme, "Basic") {
			return nil, &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
				description: "unsupported authentication scheme", challenge: basicRealm}
		}
		if hasPostSecret {
			return nil, errInvalidRequest("client authenticated with both client_secret_basic and client_secret_post")
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
		if err != nil {
			return nil, &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
				description: "malformed Basic credentials", challenge: basicRealm}
		}
		rawID, rawSecret, ok := strings.Cut(string(raw), ":")
		if !ok {
			return nil, &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
				description: "malformed Basic credentials", challenge: basicRealm}
		}
		c := &credentials{hasSecret: true}
		id, errID := url.QueryUnescape(rawID)
		secret, errSecret := url.QueryUnescape(rawSecret)
		if errID == nil && errSecret == nil {
			c.candidates = append(c.candidates, [2]string{id, secret})
		}
		// Django OAuth Toolkit 1.7 and others send the values without
		// form-urlencoding them. Our generated ids and secrets are
		// URL-safe, so both readings agree for them; for others, the raw
		// reading is tried second, and a secret still has to match.
		if errID != nil || errSecret != nil || id != rawID || secret != rawSecret {
			c.candidates = append(c.candidates, [2]string{rawID, rawSecret})
		}
		if postID != "" && !slices.ContainsFunc(c.candidates, func(c [2]string) bool { return c[0] == postID }) {
			return nil, errInvalidRequest("client_id in the body differs from the Basic credentials")
		}
		return c, nil
	}
	if postID == "" {
		return nil, &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
			description: "client authentication required", challenge: basicRealm}
	}
	return &credentials{candidates: [][2]string{{postID, postSecret}}, hasSecret: hasPostSecret}, nil
}

// authenticateClient authenticates the client of a request to endpoint
// (EndpointToken and so on). A public client (id alone, no secret) is
// accepted only if allowPublic. A client id that failed too often from the
// request's address is answered 429 before anything is looked up (see
// guard).
func (p *Provider) authenticateClient(ctx context.Context, r *http.Request, form url.Values, endpoint string, allowPublic bool) (*Client, *oauthError) {
	creds, oerr := readCredentials(r, form)
	if oerr != nil {
		return nil, oerr
	}
	addr := p.guard.address(r)
	subject := creds.candidates[0][0] // the id as sent; a second reading is the same attempt
	if oerr := p.checkAuth(addr, endpoint, subject); oerr != nil {
		return nil, oerr
	}
	c, oerr := p.verifyCredentials(ctx, creds, allowPublic)
	if oerr != nil {
		if oerr.code == "invalid_client" {
			p.authFailed(addr, endpoint, subject)
		}
		return nil, oerr
	}
	p.authSucceeded(addr, c.ID)
	return c, nil
}

// verifyCredentials finds the client creds name and checks its secret.
func (p *Provider) verifyCredentials(ctx context.Context, creds *credentials, allowPublic bool) (*Client, *oauthError) {
	// HTTP requires a challenge with every 401 (RFC 9110 §11.6.1), so it
	// is sent whether or not Basic was used.
	fail := &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
		description: "client authentication failed", challenge: basicRealm}
	for _, cand := range creds.candidates {
		c, err := p.client(ctx, cand[0])
		switch {
		case errors.Is(err, store.ErrNotFound):
			c = nil
		case err != nil:
			return nil, p.errServer("reading client", err)
		case c.Public() && !creds.hasSecret && allowPublic:
			return c, nil
		}
		// Unknown, public or confidential, with a secret or without: one
		// hash and one comparison, so that the time taken does not tell
		// them apart.
		want := dummyHash
		if c != nil && !c.Public() {
			want = c.SecretHash
		}
		if p.secretMatches(want, cand[1]) && c != nil && !c.Public() && creds.hasSecret {
			return c, nil
		}
	}
	return nil, fail
}

// secretMatches hashes secret and compares it with want in constant time.
func (p *Provider) secretMatches(want []byte, secret string) bool {
	if p.onCompare != nil {
		p.onCompare()
	}
	return store.Equal(want, store.Hash(secret))
}
