package signin

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
)

//go:embed templates/*.html
var builtinFS embed.FS

//go:embed templates/signin.css
var stylesheet []byte

// The names of the templates a page is rendered with. Config.Templates may
// define any of them to replace the built-in one; "head" and "foot" are the
// built-in pages' shared top and bottom.
const (
	templateLogin   = "login"
	templateConsent = "consent"
	templateError   = "error"
)

// Page is what every page's template is given.
type Page struct {
	// Title is the page's title.
	Title string
	// StylesheetURL is where the built-in stylesheet is served.
	StylesheetURL string
	// Action is the URL the page's form posts to.
	Action string
	// Interaction is the id of the interaction the page is about, for the
	// form's hidden field "interaction".
	Interaction string
	// CSRFToken is for the form's hidden field "csrf_token".
	CSRFToken string
	// Client is the application asking.
	Client Client
}

// Client is the application a page names.
type Client struct {
	// ID is the client_id.
	ID string
	// Name is the client's registered name, or its id when it has none.
	Name string
}

// LoginPage is what the "login" template is given. Its form posts
// "username", "password", "remember" (a checkbox, value "1") and "action"
// ("signin", the default, or "cancel"), with the hidden fields of [Page].
type LoginPage struct {
	Page
	// Username fills the username field: the last attempt's, or the
	// client's login_hint.
	Username string
	// Remember ticks the "keep me signed in" box.
	Remember bool
	// Error says why the last attempt failed, in words for the person;
	// empty on the first visit.
	Error string
}

// ConsentPage is what the "consent" template is given. Its form posts
// "decision" ("approve" or "deny"), with the hidden fields of [Page].
type ConsentPage struct {
	Page
	// User names who is signed in: the user's name or username.
	User string
	// Scopes are the permissions asked for, each described in words.
	Scopes []Scope
}

// Scope is a permission a client asks for.
type Scope struct {
	// Name is the scope as the client asked for it ("email").
	Name string
	// Description says in words what it allows ("See your email address").
	Description string
}

// ErrorPage is what the "error" template is given.
type ErrorPage struct {
	Page
	// Status is the HTTP status code of the answer.
	Status int
	// Message says in words what went wrong and what to do.
	Message string
}

// parseTemplates returns the built-in templates with those of custom, if
// any, in their place.
func parseTemplates(custom *template.Template) (*template.Template, error) {
	t, err := template.ParseFS(builtinFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("signin: built-in templates: %w", err)
	}
	if custom == nil {
		return t, nil
	}
	for _, c := range custom.Templates() {
		if c.Tree == nil {
			continue
		}
		if _, err := t.AddParseTree(c.Name(), c.Tree); err != nil {
			return nil, fmt.Errorf("signin: Config.Templates %q: %w", c.Name(), err)
		}
	}
	for _, name := range []string{templateLogin, templateConsent, templateError} {
		if t.Lookup(name) == nil {
			return nil, fmt.Errorf("signin: no template %q", name)
		}
	}
	return t, nil
}

// setPageHeaders sets the headers every page and the stylesheet carry: no
// caching (a page holds a CSRF token and personal data), no framing
// (clickjacking), no scripts, nothing sent to other sites.
func setPageHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// render writes the template name with data and status. It renders into a
// buffer first, so that a template that fails (an overriding one, say)
// becomes a plain error page, never half a page.
func (h *Handler) render(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	if err := h.templates.ExecuteTemplate(&b, name, data); err != nil {
		h.logger.Error("signin: rendering a page", "template", name, "err", err)
		setPageHeaders(w.Header())
		http.Error(w, "The sign-in page could not be shown.", http.StatusInternalServerError)
		return
	}
	setPageHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// serveStylesheet serves the built-in CSS.
func serveStylesheet(w http.ResponseWriter, _ *http.Request) {
	setPageHeaders(w.Header())
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Write(stylesheet)
}
