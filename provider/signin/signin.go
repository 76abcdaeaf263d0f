package signin

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/users"
)

// Provider is the provider's headless interaction API that the pages drive;
// *provider.Provider implements it.
type Provider interface {
	// Issuer is the provider's issuer URL: an https one makes the pages'
	// cookie Secure and __Host- prefixed.
	Issuer() string
	Interaction(ctx context.Context, id string) (*provider.Interaction, error)
	FinishLogin(ctx context.Context, id string, l provider.Login) (redirect string, err error)
	FinishConsent(ctx context.Context, id string, c provider.Consent) (redirect string, err error)
	Deny(ctx context.Context, id, description string) (redirect string, err error)
}

// Config configures a [Handler].
type Config struct {
	// Provider is the provider whose interactions the pages finish.
	// Required.
	Provider Provider
	// Users signs people in and names them on the consent page. Required.
	Users *users.Directory
	// Templates, if set, replaces the built-in templates it defines:
	// "login" (given a [LoginPage]), "consent" ([ConsentPage]) and
	// "error" ([ErrorPage]); "head" and "foot" are the built-in pages'
	// shared parts, which it may replace too or use. New renders each page
	// once to find mistakes early. The zero value means the built-in
	// pages.
	Templates *template.Template
	// ScopeDescriptions say in words what custom scopes let an application
	// do ("orders:read": "See your orders"), shown on the consent page; it
	// may also reword the standard ones. A scope without words is shown as
	// "Use the permission “name”".
	ScopeDescriptions map[string]string
	// ClientAddress returns the address a request comes from, for the
	// throttling of failed sign-ins. Defaults to the host of r.RemoteAddr.
	// Behind a reverse proxy, return the address the proxy saw (the same
	// function as provider.Config.ClientAddress).
	ClientAddress func(r *http.Request) string
	// Logger receives errors the pages could not show to the person (a
	// failing store, a broken template); never a password, username,
	// interaction id or cookie. Defaults to slog.Default().
	Logger *slog.Logger
	// Now returns the current time, the sign-in's auth_time. Defaults to
	// time.Now.
	Now func() time.Time
}

// Handler serves the built-in sign-in and consent pages at the path it is
// mounted on, which is the provider's Config.LoginURL (and ConsentURL):
// GET shows the page the interaction in the query needs, POST takes its
// form, and GET of that path + "/style.css" serves the stylesheet. Mount
// it for both:
//
//	mux.Handle("/signin", h)
//	mux.Handle("/signin/", h)
//
// It is safe for concurrent use.
type Handler struct {
	provider      Provider
	users         *users.Directory
	templates     *template.Template
	scopes        map[string]string
	clientAddress func(*http.Request) string
	logger        *slog.Logger
	now           func() time.Time
	// secure marks the CSRF cookie Secure with the __Host- prefix: the
	// issuer is https.
	secure bool
	// crossOrigin refuses POSTs that the browser says come from another
	// site (Sec-Fetch-Site, Origin): a second line behind the CSRF token.
	crossOrigin *http.CrossOriginProtection
}

// New returns a Handler for cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.Provider == nil {
		return nil, errors.New("signin: Config.Provider is required")
	}
	if cfg.Users == nil {
		return nil, errors.New("signin: Config.Users is required")
	}
	t, err := parseTemplates(cfg.Templates)
	if err != nil {
		return nil, err
	}
	if cfg.ClientAddress == nil {
		cfg.ClientAddress = remoteHost
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{
		provider:      cfg.Provider,
		users:         cfg.Users,
		templates:     t,
		scopes:        cfg.ScopeDescriptions,
		clientAddress: cfg.ClientAddress,
		logger:        cfg.Logger,
		now:           cfg.Now,
		secure:        strings.HasPrefix(strings.ToLower(cfg.Provider.Issuer()), "https://"),
		crossOrigin:   http.NewCrossOriginProtection(),
	}
	h.crossOrigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusForbidden, "This form was sent from another site, so it was refused.")
	}))
	if err := h.tryTemplates(); err != nil {
		return nil, err
	}
	return h, nil
}

// remoteHost is the default Config.ClientAddress.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ServeHTTP implements [http.Handler].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/style.css") && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		serveStylesheet(w, r)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		h.show(w, r)
	case r.Method == http.MethodPost:
		h.crossOrigin.Handler(http.HandlerFunc(h.submit)).ServeHTTP(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		h.fail(w, r, http.StatusMethodNotAllowed, "This page can only be viewed or sent as a form.")
	}
}

// Messages of the error pages and of the login form, in words for a person.
const (
	msgNoInteraction = "This page is opened by an application that asks you to sign in. Go back to the application and sign in from there."
	msgExpired       = "This sign-in has expired or is already finished. Go back to the application and sign in again."
	msgBadForm       = "The form could not be read. Go back to the application and sign in again."
	msgStaleForm     = "This form has expired. Go back to the application and sign in again."
	msgUnavailable   = "Signing in is not possible right now. Try again in a few minutes."
	msgWrongPassword = "Wrong username or password."
	msgBusy          = "Many people are signing in right now. Try again in a moment."
	msgRefused       = "Your account may not sign in to this application."
)

// show answers a GET: the page the interaction needs.
func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("interaction")
	if id == "" || len(q["interaction"]) > 1 {
		h.fail(w, r, http.StatusBadRequest, msgNoInteraction)
		return
	}
	it, ok := h.interaction(w, r, id)
	if !ok {
		return
	}
	page := h.page(w, r, it, id)
	switch it.Kind {
	case provider.InteractionLogin:
		h.render(w, http.StatusOK, templateLogin, &LoginPage{Page: page, Username: h.knownUsername(r.Context(), it)})
	case provider.InteractionConsent:
		h.render(w, http.StatusOK, templateConsent, h.consentPage(r.Context(), page, it))
	default:
		h.fail(w, r, http.StatusBadRequest, msgExpired)
	}
}

// submit answers a POST: the login or consent form.
func (h *Handler) submit(w http.ResponseWriter, r *http.Request) {
	form, err := readForm(w, r)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, msgBadForm)
		return
	}
	id := form.Get("interaction")
	if id == "" {
		h.fail(w, r, http.StatusBadRequest, msgNoInteraction)
		return
	}
	if !h.checkCSRF(r, id, form.Get("csrf_token")) {
		h.fail(w, r, http.StatusForbidden, msgStaleForm)
		return
	}
	it, ok := h.interaction(w, r, id)
	if !ok {
		return
	}
	switch it.Kind {
	case provider.InteractionLogin:
		h.login(w, r, it, id, form.Get)
	case provider.InteractionConsent:
		h.consent(w, r, it, id, form.Get("decision"))
	default:
		h.fail(w, r, http.StatusBadRequest, msgExpired)
	}
}

// interaction looks the interaction up, answering with an error page when
// it cannot.
func (h *Handler) interaction(w http.ResponseWriter, r *http.Request, id string) (*provider.Interaction, bool) {
	it, err := h.provider.Interaction(r.Context(), id)
	if errors.Is(err, provider.ErrInteractionNotFound) {
		h.fail(w, r, http.StatusBadRequest, msgExpired)
		return nil, false
	}
	if err != nil {
		h.logger.ErrorContext(r.Context(), "signin: reading an interaction", "err", err)
		h.fail(w, r, http.StatusServiceUnavailable, msgUnavailable)
		return nil, false
	}
	return it, true
}

// page is what every page of an interaction shows.
func (h *Handler) page(w http.ResponseWriter, r *http.Request, it *provider.Interaction, id string) Page {
	name := it.Client.Name
	if name == "" {
		name = it.Client.ID
	}
	return Page{
		Title:         "Sign in to " + name,
		StylesheetURL: strings.TrimSuffix(r.URL.Path, "/") + "/style.css",
		Action:        r.URL.Path,
		Interaction:   id,
		CSRFToken:     csrfToken(h.csrfSecret(w, r), id),
		Client:        Client{ID: it.Client.ID, Name: name},
	}
}

// knownUsername fills the username field: the user's own when the
// provider asks the signed-in user to sign in again (prompt=login,
// max_age), else the client's login_hint.
func (h *Handler) knownUsername(ctx context.Context, it *provider.Interaction) string {
	if it.Subject != "" {
		if u, err := h.users.User(ctx, it.Subject); err == nil {
			return u.Username
		}
	}
	return it.LoginHint
}

func (h *Handler) consentPage(ctx context.Context, page Page, it *provider.Interaction) *ConsentPage {
	page.Title = "Allow " + page.Client.Name + "?"
	// The scopes the user has granted the client before stay granted:
	// only the new ones need words.
	asked := it.NewScopes
	if len(asked) == 0 {
		asked = it.Scopes
	}
	p := &ConsentPage{Page: page, Scopes: describeScopes(asked, h.scopes)}
	if u, err := h.users.User(ctx, it.Subject); err == nil {
		p.User = u.Profile.Name
		if p.User == "" {
			p.User = u.Username
		}
	}
	return p
}

// login takes the login form: "username", "password", "remember",
// "action".
func (h *Handler) login(w http.ResponseWriter, r *http.Request, it *provider.Interaction, id string, field func(string) string) {
	ctx := r.Context()
	if field("action") == "cancel" {
		h.finish(w, r)(h.provider.Deny(ctx, id, "the user cancelled the sign-in"))
		return
	}
	username, remember := field("username"), field("remember") == "1"
	again := func(status int, msg string) {
		h.render(w, status, templateLogin, &LoginPage{Page: h.page(w, r, it, id), Username: username, Remember: remember, Error: msg})
	}
	u, err := h.users.Authenticate(ctx, username, field("password"), h.clientAddress(r))
	var throttled *users.ThrottleError
	switch {
	case err == nil:
	case errors.Is(err, users.ErrInvalidCredentials):
		again(http.StatusForbidden, msgWrongPassword)
		return
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(throttled.RetryAfter.Seconds()))))
		again(http.StatusTooManyRequests, "Too many failed sign-in attempts. Try again in "+inWords(throttled.RetryAfter)+".")
		return
	case errors.Is(err, users.ErrBusy):
		w.Header().Set("Retry-After", "1")
		again(http.StatusServiceUnavailable, msgBusy)
		return
	default:
		h.logger.ErrorContext(ctx, "signin: checking a password", "err", err)
		again(http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	h.finish(w, r)(h.provider.FinishLogin(ctx, id, provider.Login{
		Subject:  u.Subject,
		Username: u.Username,
		AuthTime: h.now(),
		AMR:      []string{"pwd"},
		Remember: remember,
	}))
}

// consent takes the consent form: "decision" is "approve" or "deny".
func (h *Handler) consent(w http.ResponseWriter, r *http.Request, it *provider.Interaction, id, decision string) {
	switch decision {
	case "approve":
		h.finish(w, r)(h.provider.FinishConsent(r.Context(), id, provider.Consent{Scopes: it.Scopes, Remember: true}))
	case "deny":
		h.finish(w, r)(h.provider.Deny(r.Context(), id, "the user denied access"))
	default:
		h.fail(w, r, http.StatusBadRequest, msgBadForm)
	}
}

// finish returns a function that sends the browser on to where the
// provider resumes the authorization request, or explains why it cannot.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request) func(redirect string, err error) {
	return func(redirect string, err error) {
		switch {
		case errors.Is(err, provider.ErrInteractionNotFound):
			h.fail(w, r, http.StatusBadRequest, msgExpired)
		case errors.Is(err, provider.ErrInvalidInteraction):
			// The provider's Config.AfterLogin refused the user.
			h.fail(w, r, http.StatusForbidden, msgRefused)
		case err != nil:
			h.logger.ErrorContext(r.Context(), "signin: finishing an interaction", "err", err)
			h.fail(w, r, http.StatusServiceUnavailable, msgUnavailable)
		default:
			setPageHeaders(w.Header())
			http.Redirect(w, r, redirect, http.StatusSeeOther)
		}
	}
}

// fail answers with the error page.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.render(w, status, templateError, &ErrorPage{
		Page:    Page{Title: http.StatusText(status), StylesheetURL: strings.TrimSuffix(r.URL.Path, "/") + "/style.css"},
		Status:  status,
		Message: msg,
	})
}

// inWords says a wait in minutes or seconds.
func inWords(d time.Duration) string {
	if d > 90*time.Second {
		return fmt.Sprintf("%d minutes", int(math.Ceil(d.Minutes())))
	}
	s := max(1, int(math.Ceil(d.Seconds())))
	if s == 1 {
		return "1 second"
	}
	return fmt.Sprintf("%d seconds", s)
}

// tryTemplates renders every page once with sample data, so that a
// template that cannot render fails New rather than a person's sign-in.
func (h *Handler) tryTemplates() error {
	page := Page{Title: "t", StylesheetURL: "/s/style.css", Action: "/s", Interaction: "i", CSRFToken: "c", Client: Client{ID: "id", Name: "n"}}
	for name, data := range map[string]any{
		templateLogin:   &LoginPage{Page: page, Username: "u", Error: "e"},
		templateConsent: &ConsentPage{Page: page, User: "u", Scopes: describeScopes([]string{"openid", "x"}, nil)},
		templateError:   &ErrorPage{Page: page, Status: 400, Message: "m"},
	} {
		if err := h.templates.ExecuteTemplate(io.Discard, name, data); err != nil {
			return fmt.Errorf("signin: template %q: %w", name, err)
		}
	}
	return nil
}
