package signin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// The CSRF defence is a signed double submit (OWASP CSRF Prevention Cheat
// Sheet) that needs no server-side state and no key shared between
// servers: a random value in a cookie only this site can set and read
// (host-only, HttpOnly, SameSite=Strict, and with the __Host- prefix
// whenever the site is https, so that no subdomain can plant one), and in
// each form an HMAC of the interaction id keyed by that value. A forged
// POST from another site carries no cookie (SameSite), and its author,
// who cannot read the cookie, cannot compute the form's token. The token
// also binds the form to its interaction.

// csrfCookieName is the cookie's name on http and on https.
func csrfCookieName(secure bool) string {
	if secure {
		return "__Host-tokengate_signin"
	}
	return "tokengate_signin"
}

// csrfSecret returns the browser's CSRF cookie value, setting a new one on
// w when it has none (or a malformed one). Other tabs' forms stay valid:
// an existing value is kept.
func (h *Handler) csrfSecret(w http.ResponseWriter, r *http.Request) []byte {
	if c, err := r.Cookie(csrfCookieName(h.secure)); err == nil {
		if b, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil && len(b) == 32 {
			return b
		}
	}
	b := make([]byte, 32)
	rand.Read(b)
	http.SetCookie(w, &http.Cookie{
		Name:     csrfCookieName(h.secure),
		Value:    base64.RawURLEncoding.EncodeToString(b),
		Path:     "/",
		Secure:   h.secure,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
	})
	return b
}

// csrfToken is the form token for interaction under the browser's secret.
func csrfToken(secret []byte, interaction string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("tokengate signin csrf\x00"))
	m.Write([]byte(interaction))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether the form's token matches the browser's cookie
// for this interaction, comparing in constant time.
func (h *Handler) checkCSRF(r *http.Request, interaction, token string) bool {
	c, err := r.Cookie(csrfCookieName(h.secure))
	if err != nil {
		return false
	}
	secret, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(secret) != 32 {
		return false
	}
	return hmac.Equal([]byte(csrfToken(secret, interaction)), []byte(token))
}
