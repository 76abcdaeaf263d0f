package provider

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
)

// The provider's own pages: errors it must not redirect (RFC 6749
// §4.1.2.1), and the RP-initiated logout's confirmation and farewell.
// Every page is html/template without JavaScript, never cached, never
// framed. Config.Templates replaces any of them.

// Names of the provider's templates, for Config.Templates.
const (
	// TemplateError renders an [ErrorPage].
	TemplateError = "error"
	// TemplateLogout renders a [LogoutPage]: "Sign out?".
	TemplateLogout = "logout"
	// TemplateLoggedOut renders a [LoggedOutPage]: "You are signed out".
	TemplateLoggedOut = "logged_out"
)

// ErrorPage is what the TemplateError template is given: why the request
// cannot go on, in words for the person in front of the browser.
type ErrorPage struct {
	Title string
	Text  string
}

// LogoutPage is what the TemplateLogout template is given: the question
// whether to sign out, asked when a logout request does not prove that a
// client of the signed-in user sent it. Its form posts to Action, with the
// hidden fields Fields (the CSRF token among them, name "csrf_token"), and
// "decision": "logout" to sign out, anything else to stay signed in.
type LogoutPage struct {
	// Action is the URL the form posts to.
	Action string
	// Fields are the hidden fields to post back, in order.
	Fields []HiddenField
	// ClientName names the application that asked, if it is known.
	ClientName string
}

// HiddenField is a hidden form field of a [LogoutPage].
type HiddenField struct {
	Name, Value string
}

// LoggedOutPage is what the TemplateLoggedOut template is given.
type LoggedOutPage struct {
	// SignedOut is false when the user chose to stay signed in.
	SignedOut bool
}

// builtinTemplates are the provider's own pages.
var builtinTemplates = template.Must(template.New("pages").Parse(`
{{define "head"}}<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
button{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem}</style></head>
<body><main>
<h1>{{.}}</h1>{{end}}
{{define "foot"}}</main></body></html>
{{end}}
{{define "error"}}{{template "head" .Title}}
<p>{{.Text}}</p>
{{template "foot"}}{{end}}
{{define "logout"}}{{template "head" "Sign out?"}}
<p>{{if .ClientName}}{{.ClientName}} asks to sign you out.{{else}}Do you want to sign out?{{end}}
Signing out ends your session here, for every application you signed in to with it.</p>
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button type="submit" name="decision" value="logout">Sign out</button>
<button type="submit" name="decision" value="stay">Stay signed in</button>
</form>
{{template "foot"}}{{end}}
{{define "logged_out"}}{{if .SignedOut}}{{template "head" "You are signed out"}}
<p>You can close this window.</p>{{else}}{{template "head" "You are still signed in"}}
<p>Nothing changed. You can close this window.</p>{{end}}
{{template "foot"}}{{end}}
`))

// pageTemplates maps each page's template name to the template set that
// renders it: Config.Templates if it defines the name, else the
// provider's own.
type pageTemplates map[string]*template.Template

// parseTemplates returns the provider's pages with those override defines
// replacing them, and checks that each renders.
func parseTemplates(override *template.Template) (pageTemplates, error) {
	samples := map[string]any{
		TemplateError:     ErrorPage{Title: "t", Text: "x"},
		TemplateLogout:    LogoutPage{Action: "/logout", Fields: []HiddenField{{"csrf_token", "x"}}, ClientName: "App"},
		TemplateLoggedOut: LoggedOutPage{SignedOut: true},
	}
	out := pageTemplates{}
	for name, data := range samples {
		out[name] = builtinTemplates
		if override != nil && override.Lookup(name) != nil {
			out[name] = override
		}
		if err := out[name].ExecuteTemplate(&bytes.Buffer{}, name, data); err != nil {
			return nil, fmt.Errorf("provider: Config.Templates: %s: %w", name, err)
		}
	}
	return out, nil
}

// page names one of the error pages.
type page int

const (
	pageBadRequest page = iota
	pageTooLarge
	pageUnknownClient
	pageBadRedirect
	pageExpired
	pageOtherBrowser
	pageUnfinished
	pageSessionChanged
	pageNoSignIn
	pageBadLogout
	pageForbidden
	pageServerError
)

// pageTexts are the title and the explanation of each error page, in words
// for the person in front of the browser.
var pageTexts = map[page][2]string{
	pageBadRequest:     {"This sign-in request is not valid", "The application sent a request the sign-in service cannot read. Go back to the application and try again."},
	pageTooLarge:       {"This sign-in request is too large", "The application sent a request larger than the sign-in service accepts. Go back to the application and try again."},
	pageUnknownClient:  {"Unknown application", "The application that sent you here is not registered for signing in with this service."},
	pageBadRedirect:    {"Unregistered return address", "The application asked to send you back to an address that is not registered for it, so you were not sent there."},
	pageExpired:        {"This sign-in has expired", "This sign-in was finished already or took too long. Go back to the application and sign in again."},
	pageOtherBrowser:   {"This sign-in was started elsewhere", "This sign-in was started in another browser, or your browser's cookies were cleared. Go back to the application and sign in again from here."},
	pageUnfinished:     {"This sign-in is not finished", "The sign-in page sent you back before you finished. Go back to the application and sign in again."},
	pageSessionChanged: {"You signed out or switched accounts", "While you were asked for consent, this browser signed out or signed in as someone else. Go back to the application and sign in again."},
	pageNoSignIn:       {"Signing in is not available", "This service does not sign people in."},
	pageBadLogout:      {"This sign-out request is not valid", "The application sent a sign-out request the sign-in service cannot accept, so nothing was changed and you were not sent anywhere."},
	pageForbidden:      {"This form has expired", "The form was not sent from this browser's page, or the page is too old. Nothing was changed."},
	pageServerError:    {"Something went wrong", "The sign-in service could not complete your request. Try again later."},
}

// errorPage answers with an error page.
func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, status int, pg page) {
	t := pageTexts[pg]
	p.writePage(w, status, TemplateError, ErrorPage{Title: t[0], Text: t[1]})
}

// failPage answers a failure of the provider's own with the server error
// page (see serverPage).
func (p *Provider) failPage(w http.ResponseWriter, r *http.Request, what string, err error) {
	p.answerPage(w, r, p.serverPage(what, err))
}

// serverPage is the page for a failure of the provider's own: 503 while
// the store is unavailable, as errServer answers the endpoints; otherwise
// it logs the failure and is a 500.
func (p *Provider) serverPage(what string, err error) *pageError {
	if p.unavailable(what, err) {
		return &pageError{status: http.StatusServiceUnavailable, page: pageServerError}
	}
	p.cfg.Logger.Error("provider: "+what, "err", err)
	return &pageError{status: http.StatusInternalServerError, page: pageServerError}
}

// answerPage answers with the page of pe; a 503 says when to try again.
func (p *Provider) answerPage(w http.ResponseWriter, r *http.Request, pe *pageError) {
	if pe.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", errUnavailable.retryAfter)
	}
	p.errorPage(w, r, pe.status, pe.page)
}

// writePage renders the template name with data and sends it with the
// headers every page has: not cached (a page may carry a CSRF token or say
// who is signed in), not framed (clickjacking), no referrer (the URL may
// carry an interaction id), no script.
func (p *Provider) writePage(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := p.templates[name].ExecuteTemplate(&buf, name, data); err != nil {
		p.cfg.Logger.Error("provider: rendering page", "template", name, "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Something went wrong</title><p>Something went wrong.</p>")
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
