package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/tokengate/tokengate/provider/store"
)

// The headless interaction API: the provider owns the protocol, the
// application owns the people. When an authorization request needs the
// user to sign in or to consent, the provider stores an interaction and
// sends the browser to Config.LoginURL or Config.ConsentURL with
// "?interaction=ID". The application reads what is asked with
// [Provider.Interaction], does its part however it likes, calls
// [Provider.FinishLogin], [Provider.FinishConsent] or [Provider.Deny], and
// answers the browser with a 303 to the URL they return: a provider URL
// that resumes the authorization request.

// InteractionKind says what an [Interaction] asks of the application.
type InteractionKind string

// The kinds of interaction.
const (
	// InteractionLogin asks the application to sign the user in, and to
	// call [Provider.FinishLogin] (or [Provider.Deny]).
	InteractionLogin InteractionKind = "login"
	// InteractionConsent asks the application whether the signed-in user
	// grants the client the scopes, and to call [Provider.FinishConsent]
	// (or [Provider.Deny]).
	InteractionConsent InteractionKind = "consent"
)

// ErrInteractionNotFound means that no interaction has the given id: it
// never existed, it expired (after Config.InteractionLifetime), or it was
// finished already.
var ErrInteractionNotFound = errors.New("provider: no such interaction (unknown, expired or finished)")

// ErrInvalidInteraction means that the application finished an interaction
// wrongly: a login without a subject, a consent to a scope that was not
// asked for, a login for a consent interaction, or a login that
// Config.AfterLogin refused. The interaction stays open: the application
// may fix the call, or call [Provider.Deny].
var ErrInvalidInteraction = errors.New("provider: invalid interaction result")

// Interaction is what an authorization request asks of the application.
type Interaction struct {
	// ID is the interaction id, as in the URL the browser was sent to.
	ID string
	// Kind is InteractionLogin or InteractionConsent.
	Kind InteractionKind
	// Client is the client asking.
	Client InteractionClient
	// Scopes are the scopes the client asks for.
	Scopes []string
	// NewScopes are, for a consent, the scopes the user has not granted
	// the client yet (all of Scopes when the client asked for prompt=
	// consent): those to show. Nil for a login.
	NewScopes []string
	// Prompt are the OpenID Connect prompt values asked ("login",
	// "consent"); "none" never comes to an interaction.
	Prompt []string
	// MaxAge is the max_age the client asked for: how long ago the user
	// may have authenticated. Zero when it asked none, or max_age=0; either
	// way the application authenticates the user now, as for every login.
	MaxAge time.Duration
	// LoginHint is the client's login_hint (OpenID Connect Core §3.1.2.1),
	// such as an e-mail address to fill in; only a hint.
	LoginHint string
	// UILocales are the client's ui_locales, most preferred first; the
	// application may ignore them.
	UILocales []string
	// ACRValues are the client's acr_values, most preferred first.
	ACRValues []string
	// Subject is, for a consent, the signed-in user who is asked; for a
	// login, the user of the browser's current session, if it has one
	// (re-authentication: prompt=login or max_age); "" otherwise.
	Subject string
	// ExpiresAt is when the interaction expires.
	ExpiresAt time.Time
}

// InteractionClient describes the client of an [Interaction], for the
// pages the application shows.
type InteractionClient struct {
	// ID is the client_id.
	ID string
	// Name is the client's registered name; it may be empty.
	Name string
	// FirstParty reports whether the client is trusted by the operator.
	FirstParty bool
}

// Login is how the application signed the user in, for
// [Provider.FinishLogin].
type Login struct {
	// Subject is the user's stable, unique identifier (the "sub" of
	// OpenID Connect Core §2, before pairwise mapping): never reassigned
	// to another person. Required; at most 255 bytes of UTF-8.
	Subject string
	// Username is the user's name, shown by introspection as "username";
	// it may be empty.
	Username string
	// AuthTime is when the user authenticated; the zero value means now.
	AuthTime time.Time
	// AMR lists the authentication methods used (RFC 8176: "pwd", "otp",
	// "hwk", …); it may be empty.
	AMR []string
	// ACR is the authentication context class reference; it may be empty.
	ACR string
	// Remember keeps the session across browser restarts (a persistent
	// cookie, for Config.SessionLifetime); otherwise it ends when the
	// browser closes.
	Remember bool
}

// Consent is what the user granted, for [Provider.FinishConsent].
type Consent struct {
	// Scopes are the scopes the user grants, each one of
	// Interaction.Scopes. Scopes the user had granted the client before
	// (those of Interaction.Scopes not in Interaction.NewScopes) stay
	// granted whether listed or not, unless the client asked for
	// prompt=consent.
	Scopes []string
	// Remember stores the consent for Config.ConsentLifetime, so that the
	// user is not asked again while it covers what the client asks for.
	Remember bool
}

// interactionRecord is the provider's record of an interaction
// (store.Interaction.Request).
type interactionRecord struct {
	Auth *authRequest `json:"auth"`
	// Subject is, for a consent, the user asked; for a login, the user of
	// the session being re-authenticated, if any.
	Subject string `json:"subject,omitempty"`
	// LoggedIn records that the user signed in during this request, so that
	// prompt=login and max_age do not ask again after consent.
	LoggedIn bool `json:"logged_in,omitempty"`
	// Granted are, for a consent, the scopes already granted.
	Granted []string `json:"granted,omitempty"`
}

// interactionResult is the provider's record of how an interaction ended
// (store.Interaction.Result).
type interactionResult struct {
	Login   *Login   `json:"login,omitempty"`
	Consent *Consent `json:"consent,omitempty"`
	// Denied is the application's refusal: access_denied for the client.
	Denied      bool   `json:"denied,omitempty"`
	Description string `json:"description,omitempty"`
}

// Interaction returns what the interaction id asks of the application, or
// an error matching [ErrInteractionNotFound].
func (p *Provider) Interaction(ctx context.Context, id string) (*Interaction, error) {
	in, rec, err := p.pendingInteraction(ctx, id)
	if err != nil {
		return nil, err
	}
	ar := rec.Auth
	client, err := p.client(ctx, ar.ClientID)
	if err != nil {
		// Deleted since the request began.
		return nil, fmt.Errorf("%w: client %q: %w", ErrInteractionNotFound, ar.ClientID, err)
	}
	out := &Interaction{
		ID:        id,
		Kind:      InteractionKind(in.Kind),
		Client:    InteractionClient{ID: client.ID, Name: client.Name, FirstParty: client.FirstParty},
		Scopes:    slices.Clone(ar.Scopes),
		Prompt:    slices.DeleteFunc(slices.Clone(ar.Prompt), func(s string) bool { return s == "none" }),
		LoginHint: ar.LoginHint,
		UILocales: slices.Clone(ar.UILocales),
		ACRValues: slices.Clone(ar.ACRValues),
		Subject:   rec.Subject,
		ExpiresAt: in.ExpiresAt,
	}
	if ar.MaxAge > 0 {
		out.MaxAge = time.Duration(ar.MaxAge) * time.Second
	}
	if out.Kind == InteractionConsent {
		out.NewScopes = slices.DeleteFunc(slices.Clone(ar.Scopes), func(s string) bool { return slices.Contains(rec.Granted, s) })
	}
	return out, nil
}

// pendingInteraction reads the unexpired, unfinished interaction id.
func (p *Provider) pendingInteraction(ctx context.Context, id string) (*store.Interaction, *interactionRecord, error) {
	if id == "" || len(id) > 100 {
		return nil, nil, ErrInteractionNotFound
	}
	in, err := p.cfg.Store.Interaction(ctx, store.Hash(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrInteractionNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("provider: reading interaction: %w", err)
	}
	if in.Result != nil || !p.now().Before(in.ExpiresAt) {
		return nil, nil, ErrInteractionNotFound
	}
	var rec interactionRecord
	if err := json.Unmarshal(in.Request, &rec); err != nil {
		return nil, nil, fmt.Errorf("provider: interaction record: %w", err)
	}
	if rec.Auth == nil {
		return nil, nil, errors.New("provider: interaction record without its request")
	}
	return in, &rec, nil
}

// FinishLogin records that the application signed the user in for the
// login interaction id, and returns the URL to send the browser to (with a
// 303): there the provider starts a new session — under a new id, whatever
// session the browser had — and goes on with the authorization request,
// to consent or to the client. Config.AfterLogin, if set, may refuse the
// login. Errors match [ErrInteractionNotFound] or [ErrInvalidInteraction].
func (p *Provider) FinishLogin(ctx context.Context, id string, l Login) (string, error) {
	in, rec, err := p.pendingInteraction(ctx, id)
	if err != nil {
		return "", err
	}
	switch {
	case InteractionKind(in.Kind) != InteractionLogin:
		return "", fmt.Errorf("%w: FinishLogin on a %s interaction", ErrInvalidInteraction, in.Kind)
	case l.Subject == "" || len(l.Subject) > 255 || !utf8.ValidString(l.Subject):
		return "", fmt.Errorf("%w: Login.Subject must be 1 to 255 bytes of UTF-8", ErrInvalidInteraction)
	case len(l.Username) > 255 || !utf8.ValidString(l.Username) || len(l.ACR) > 255 || !utf8.ValidString(l.ACR):
		return "", fmt.Errorf("%w: Login.Username and Login.ACR must be at most 255 bytes of UTF-8", ErrInvalidInteraction)
	case l.AuthTime.After(p.now().Add(time.Minute)):
		return "", fmt.Errorf("%w: Login.AuthTime is in the future", ErrInvalidInteraction)
	}
	for _, m := range l.AMR {
		if m == "" || len(m) > 64 || !utf8.ValidString(m) {
			return "", fmt.Errorf("%w: Login.AMR values must be 1 to 64 bytes of UTF-8", ErrInvalidInteraction)
		}
	}
	if l.AuthTime.IsZero() {
		l.AuthTime = p.now()
	}
	l.AuthTime = l.AuthTime.Truncate(time.Second) // auth_time is in seconds
	if p.cfg.AfterLogin != nil {
		client, err := p.client(ctx, rec.Auth.ClientID)
		if err != nil {
			return "", fmt.Errorf("%w: client %q: %w", ErrInteractionNotFound, rec.Auth.ClientID, err)
		}
		if err := p.cfg.AfterLogin(ctx, client, &l); err != nil {
			return "", fmt.Errorf("%w: Config.AfterLogin: %w", ErrInvalidInteraction, err)
		}
	}
	return p.finishInteraction(ctx, id, &interactionResult{Login: &l})
}

// FinishConsent records the user's consent for the consent interaction id
// and returns the URL to send the browser to (with a 303): there the
// provider stores the consent if c.Remember, and sends the browser back to
// the client with an authorization code for the granted scopes. Errors
// match [ErrInteractionNotFound] or [ErrInvalidInteraction].
func (p *Provider) FinishConsent(ctx context.Context, id string, c Consent) (string, error) {
	in, rec, err := p.pendingInteraction(ctx, id)
	if err != nil {
		return "", err
	}
	if InteractionKind(in.Kind) != InteractionConsent {
		return "", fmt.Errorf("%w: FinishConsent on a %s interaction", ErrInvalidInteraction, in.Kind)
	}
	for _, s := range c.Scopes {
		if !slices.Contains(rec.Auth.Scopes, s) {
			return "", fmt.Errorf("%w: scope %q was not asked for", ErrInvalidInteraction, truncate(s, 60))
		}
	}
	return p.finishInteraction(ctx, id, &interactionResult{Consent: &Consent{Scopes: slices.Clone(c.Scopes), Remember: c.Remember}})
}

// Deny ends the interaction id with a refusal — the user cancelled, could
// not sign in, or did not consent — and returns the URL to send the
// browser to (with a 303): there the provider sends it back to the client
// with error=access_denied and description, which should be short and
// must not say anything the client may not learn (it is cut to 200
// printable ASCII characters). The error matches [ErrInteractionNotFound]
// if the interaction is gone.
func (p *Provider) Deny(ctx context.Context, id string, description string) (string, error) {
	if _, _, err := p.pendingInteraction(ctx, id); err != nil {
		return "", err
	}
	return p.finishInteraction(ctx, id, &interactionResult{Denied: true, Description: truncate(description, 200)})
}

func (p *Provider) finishInteraction(ctx context.Context, id string, res *interactionResult) (string, error) {
	b, err := json.Marshal(res)
	if err != nil {
		return "", fmt.Errorf("provider: %w", err)
	}
	err = p.cfg.Store.FinishInteraction(ctx, store.Hash(id), b)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUsed) {
		return "", ErrInteractionNotFound
	}
	if err != nil {
		return "", fmt.Errorf("provider: finishing interaction: %w", err)
	}
	return p.issuer + pathResume + "?interaction=" + id, nil
}

// startInteraction stores an interaction of kind for the request rec and
// sends the browser to the application's page for it, bound to the
// browser by a cookie.
func (p *Provider) startInteraction(w http.ResponseWriter, r *http.Request, kind InteractionKind, rec *interactionRecord) {
	ctx := r.Context()
	browser := p.browserSecret(r)
	b, err := json.Marshal(rec)
	if err != nil {
		p.errorPage(w, r, http.StatusInternalServerError, pageServerError)
		return
	}
	id := randomString(32)
	now := p.now()
	in := &store.Interaction{Hash: store.Hash(id), BrowserHash: store.Hash(browser), Kind: string(kind), Request: b,
		CreatedAt: now, ExpiresAt: now.Add(p.cfg.InteractionLifetime)}
	if err := p.cfg.Store.SaveInteraction(ctx, in); err != nil {
		p.failPage(w, r, "saving interaction", err)
		return
	}
	// Set again each time, so that it outlives the newest interaction.
	p.setCookie(w, p.browserCookieName(), browser, p.cfg.InteractionLifetime)
	target := p.cfg.LoginURL
	if kind == InteractionConsent {
		target = p.cfg.ConsentURL
	}
	noStore(w)
	seeOther(w, appendQuery(target, url.Values{"interaction": {id}}))
}

// serveResume is where the browser comes back after the application
// finished an interaction: the provider checks that it is the browser the
// interaction was started in, takes the interaction (once), and goes on
// with the authorization request.
func (p *Provider) serveResume(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		p.errorPage(w, r, http.StatusMethodNotAllowed, pageBadRequest)
		return
	}
	ctx := r.Context()
	q, err := parseParams(r.URL.RawQuery)
	id := q.Get("interaction")
	if err != nil || id == "" || len(id) > 100 {
		p.errorPage(w, r, http.StatusBadRequest, pageBadRequest)
		return
	}
	in, err := p.cfg.Store.Interaction(ctx, store.Hash(id))
	switch {
	case errors.Is(err, store.ErrNotFound):
		p.errorPage(w, r, http.StatusBadRequest, pageExpired)
		return
	case err != nil:
		p.failPage(w, r, "reading interaction", err)
		return
	case !p.now().Before(in.ExpiresAt):
		p.errorPage(w, r, http.StatusBadRequest, pageExpired)
		return
	}
	// The browser that comes back must be the one that started: otherwise
	// an attacker could have a victim finish the attacker's interaction.
	if browser, ok := p.cookie(r, p.browserCookieName()); !ok || !store.Equal(in.BrowserHash, store.Hash(browser)) {
		p.errorPage(w, r, http.StatusForbidden, pageOtherBrowser)
		return
	}
	if in.Result == nil {
		p.errorPage(w, r, http.StatusBadRequest, pageUnfinished)
		return
	}
	if in, err = p.cfg.Store.TakeInteraction(ctx, store.Hash(id)); errors.Is(err, store.ErrNotFound) {
		p.errorPage(w, r, http.StatusBadRequest, pageExpired) // a second tab, or a double click
		return
	} else if err != nil {
		p.failPage(w, r, "taking interaction", err)
		return
	}
	var rec interactionRecord
	var res interactionResult
	if json.Unmarshal(in.Request, &rec) != nil || rec.Auth == nil || json.Unmarshal(in.Result, &res) != nil {
		p.cfg.Logger.Error("provider: corrupt interaction record")
		p.errorPage(w, r, http.StatusInternalServerError, pageServerError)
		return
	}
	ar := rec.Auth
	client, err := p.client(ctx, ar.ClientID)
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, pageUnknownClient)
		return
	}
	a := &authorization{req: ar, client: client, loggedIn: rec.LoggedIn}
	switch {
	case res.Denied:
		kind := EventLoginDenied
		if InteractionKind(in.Kind) == InteractionConsent {
			kind = EventConsentDenied
		}
		p.observe(Event{Kind: kind})
		p.redirectError(w, r, ar, "access_denied", res.Description)
	case InteractionKind(in.Kind) == InteractionLogin && res.Login != nil:
		sess, err := p.startSession(w, r, res.Login)
		if err != nil {
			p.failPage(w, r, "saving session", err)
			return
		}
		p.observe(Event{Kind: EventLogin})
		a.session, a.loggedIn = sess, true
		p.authorize(w, r, a)
	case InteractionKind(in.Kind) == InteractionConsent && res.Consent != nil:
		sess := p.currentSession(r)
		if sess == nil || sess.Subject != rec.Subject {
			// Signed out, or in as someone else, since consent was asked.
			p.errorPage(w, r, http.StatusBadRequest, pageSessionChanged)
			return
		}
		granted := slices.Clone(res.Consent.Scopes)
		if !slices.Contains(ar.Prompt, "consent") {
			for _, s := range rec.Granted {
				if slices.Contains(ar.Scopes, s) && !slices.Contains(granted, s) {
					granted = append(granted, s)
				}
			}
		}
		if res.Consent.Remember {
			if err := p.rememberConsent(ctx, sess.Subject, client.ID, granted); err != nil {
				p.failPage(w, r, "saving consent", err)
				return
			}
		}
		p.observe(Event{Kind: EventConsentGranted})
		a.session, a.consented = sess, granted
		p.authorize(w, r, a)
	default:
		p.errorPage(w, r, http.StatusInternalServerError, pageServerError)
	}
}
