package provider

import (
	"bytes"
	"html/template"
	"net/http"
)

// The provider's own pages: errors it must not redirect (RFC 6749
// §4.1.2.1), and the logout confirmation. Every page is html/template
// without JavaScript, never cached, never framed.

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
	pageServerError:    {"Something went wrong", "The sign-in service could not complete your request. Try again later."},
}

var errorTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
</main>
</body>
</html>
`))

// errorPage answers with an error page.
func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, status int, pg page) {
	t := pageTexts[pg]
	p.writePage(w, status, errorTemplate, struct{ Title, Text string }{t[0], t[1]})
}

// failPage logs a failure of the provider's own and answers with the
// server error page.
func (p *Provider) failPage(w http.ResponseWriter, r *http.Request, what string, err error) {
	p.cfg.Logger.Error("provider: "+what, "err", err)
	p.errorPage(w, r, http.StatusInternalServerError, pageServerError)
}

// writePage renders t with data and sends it with the headers every page
// has: not cached (a page may carry a CSRF token or say who is signed in),
// not framed (clickjacking), no referrer (the URL may carry an
// interaction id), no script.
func (p *Provider) writePage(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		p.cfg.Logger.Error("provider: rendering page", "err", err)
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
