package provider

import (
	"errors"
	"net/http"
	"time"

	"github.com/tokengate/tokengate/provider/store"
)

// The provider's cookies. Both are host-only (no Domain), HttpOnly and
// SameSite=Lax: sent on the top-level navigations of a sign-in, including
// one coming back from another site, never on another site's subrequests
// or form posts. When the issuer is https they are Secure and carry the
// __Host- prefix, which the browser accepts only from this very host with
// Path=/, so that a sibling subdomain cannot plant one (cookie tossing).
//
//   - the session cookie holds the provider session's id (256 random bits;
//     the store keeps only its hash);
//   - the browser cookie holds a secret of the browser that every
//     interaction is bound to: the browser that comes back to resume an
//     interaction must be the one that started it.
const (
	sessionCookie = "tg_session"
	browserCookie = "tg_browser"
)

func (p *Provider) cookieName(base string) string {
	if p.secureCookies {
		return "__Host-" + base
	}
	return base
}

func (p *Provider) sessionCookieName() string { return p.cookieName(sessionCookie) }
func (p *Provider) browserCookieName() string { return p.cookieName(browserCookie) }

// setCookie sets a provider cookie; maxAge zero makes it a session cookie
// (gone when the browser closes), negative deletes it.
func (p *Provider) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: p.secureCookies,
		SameSite: http.SameSiteLaxMode}
	switch {
	case maxAge > 0:
		c.MaxAge = int(maxAge / time.Second)
	case maxAge < 0:
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// cookie returns the value of the cookie name. Two cookies of that name
// (one planted with another Path or Domain) count as none.
func (p *Provider) cookie(r *http.Request, name string) (string, bool) {
	var value string
	n := 0
	for _, c := range r.CookiesNamed(name) {
		value = c.Value
		n++
	}
	if n != 1 || value == "" || len(value) > 100 {
		return "", false
	}
	return value, true
}

// currentSession returns the browser's unexpired provider session, or nil.
func (p *Provider) currentSession(r *http.Request) *store.Session {
	s, _ := p.currentSessionAndID(r)
	return s
}

// currentSessionAndID returns the browser's unexpired provider session and
// its id, or nil.
func (p *Provider) currentSessionAndID(r *http.Request) (*store.Session, string) {
	id, ok := p.cookie(r, p.sessionCookieName())
	if !ok {
		return nil, ""
	}
	s, err := p.cfg.Store.Session(r.Context(), store.Hash(id))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			p.cfg.Logger.Error("provider: reading session", "err", err)
		}
		return nil, ""
	}
	if !p.now().Before(s.ExpiresAt) {
		return nil, ""
	}
	return s, id
}

// startSession makes a new session for a login — always under a new id,
// so that an id planted before the login is worth nothing (no session
// fixation) — sets its cookie, and ends the session the browser had.
func (p *Provider) startSession(w http.ResponseWriter, r *http.Request, l *Login) (*store.Session, error) {
	ctx := r.Context()
	now := p.now()
	id := randomString(32)
	s := &store.Session{Hash: store.Hash(id), Subject: l.Subject, Username: l.Username, AuthTime: l.AuthTime,
		ACR: l.ACR, AMR: l.AMR, CreatedAt: now, ExpiresAt: now.Add(p.cfg.SessionLifetime)}
	if err := p.cfg.Store.SaveSession(ctx, s); err != nil {
		return nil, err
	}
	if old, ok := p.cookie(r, p.sessionCookieName()); ok {
		if err := p.cfg.Store.DeleteSession(ctx, store.Hash(old)); err != nil {
			p.cfg.Logger.Warn("provider: ending the replaced session", "err", err)
		}
	}
	var maxAge time.Duration
	if l.Remember {
		maxAge = p.cfg.SessionLifetime
	}
	p.setCookie(w, p.sessionCookieName(), id, maxAge)
	return s, nil
}

// browserSecret returns the browser's secret from its cookie, or a new one
// if it has none.
func (p *Provider) browserSecret(r *http.Request) string {
	if v, ok := p.cookie(r, p.browserCookieName()); ok && len(v) == 43 {
		return v
	}
	return randomString(32)
}

// seeOther sends the browser to target with a 303 and no body (a body
// would be a page without the pages' headers, and no browser shows it).
func seeOther(w http.ResponseWriter, target string) {
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

// noStore marks an answer as not to be stored by any cache.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// secondsDuration converts a count of seconds, bounded by the caller, to a
// Duration.
func secondsDuration(n int64) time.Duration { return time.Duration(n) * time.Second }
