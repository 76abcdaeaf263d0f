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

// dummyHash is compared against when the client id is unknown, so that the
// time taken does not tell whether the id exists.
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

// authenticateClient authenticates the client of a request. A public client
// (id alone, no secret) is accepted only if allowPublic.
func (p *Provider) authenticateClient(ctx context.Context, r *http.Request, form url.Values, allowPublic bool) (*Client, *oauthError) {
	creds, oerr := readCredentials(r, form)
	if oerr != nil {
		return nil, oerr
	}
	// HTTP requires a challenge with every 401 (RFC 9110 §11.6.1), so it
	// is sent whether or not Basic was used.
	fail := &oauthError{status: http.StatusUnauthorized, code: "invalid_client",
		description: "client authentication failed", challenge: basicRealm}
	for _, cand := range creds.candidates {
		c, err := p.client(ctx, cand[0])
		if errors.Is(err, store.ErrNotFound) {
			store.Equal(dummyHash, store.Hash(cand[1]))
			continue
		}
		if err != nil {
			p.cfg.Logger.Error("provider: reading client", "err", err)
			return nil, &oauthError{status: http.StatusInternalServerError, code: "server_error"}
		}
		if c.Public() {
			if !creds.hasSecret && allowPublic {
				return c, nil
			}
			// Compared like a wrong secret, so that the time taken does
			// not tell a public client from a confidential one.
			store.Equal(dummyHash, store.Hash(cand[1]))
			continue
		}
		if creds.hasSecret && store.Equal(c.SecretHash, store.Hash(cand[1])) {
			return c, nil
		}
	}
	return nil, fail
}
