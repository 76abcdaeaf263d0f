package interoptest

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// UserAgent is a scripted browser for the sign-in pages: it keeps cookies,
// follows redirects by hand, and fills in the forms it meets the way a
// person would — a login form (one with a "password" field) with Username
// and Password, a consent form (buttons named "decision") with Decision —
// until the provider redirects to RedirectURI. It speaks the field names
// of tokengate's built-in pages, which interop/testdata/oidc-provider's
// pages share, so one agent drives both providers.
type UserAgent struct {
	// Username and Password are what the login form gets.
	Username, Password string
	// Decision is what the consent form gets: "approve" (the default) or
	// "deny".
	Decision string
	// RedirectURI is where the agent stops: the client's redirect URI.
	RedirectURI string
	// Steps records the method, path (no query) and status of each
	// request, for failure messages.
	Steps []string

	client *http.Client
}

// NewUserAgent returns a UserAgent with an empty cookie jar: a new
// browser, signed in nowhere.
func NewUserAgent(username, password, redirectURI string) *UserAgent {
	jar, _ := cookiejar.New(nil)
	return &UserAgent{Username: username, Password: password, Decision: "approve", RedirectURI: redirectURI,
		client: &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
}

// maxPageBytes bounds a page the agent reads.
const maxPageBytes = 1 << 20

// SignIn opens authorizationURL and goes through the provider's pages
// until it is sent to the redirect URI, which it returns (with the code or
// the error in its query) without opening it.
func (ua *UserAgent) SignIn(ctx context.Context, authorizationURL string) (*url.URL, error) {
	next, err := url.Parse(authorizationURL)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, next.String(), nil)
	if err != nil {
		return nil, err
	}
	for range 20 {
		resp, body, err := ua.do(req)
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := req.URL.Parse(resp.Header.Get("Location"))
			if err != nil {
				return nil, fmt.Errorf("a redirect to %q: %w", resp.Header.Get("Location"), err)
			}
			if strings.HasPrefix(loc.String(), ua.RedirectURI) {
				return loc, nil
			}
			if req, err = http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil); err != nil {
				return nil, err
			}
		case resp.StatusCode == http.StatusOK:
			if req, err = ua.fill(ctx, req.URL, body); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%s answered %d after %v: %.300s", req.URL.Path, resp.StatusCode, ua.Steps, body)
		}
	}
	return nil, fmt.Errorf("20 steps without reaching the redirect URI: %v", ua.Steps)
}

func (ua *UserAgent) do(req *http.Request) (*http.Response, string, error) {
	resp, err := ua.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPageBytes))
	ua.Steps = append(ua.Steps, fmt.Sprintf("%s %s %d", req.Method, req.URL.Path, resp.StatusCode))
	return resp, string(b), err
}

var (
	formTag  = regexp.MustCompile(`(?i)<form\b[^>]*>`)
	inputTag = regexp.MustCompile(`(?i)<(?:input|button)\b[^>]*>`)
	attr     = regexp.MustCompile(`([a-zA-Z_:-]+)(?:\s*=\s*"([^"]*)")?`)
)

func attributes(tag string) map[string]string {
	out := map[string]string{}
	for _, m := range attr.FindAllStringSubmatch(tag, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

// fill reads the page's form and returns the request that submits it.
func (ua *UserAgent) fill(ctx context.Context, page *url.URL, body string) (*http.Request, error) {
	form := formTag.FindString(body)
	if form == "" {
		return nil, fmt.Errorf("no form on %s: %.300s", page.Path, body)
	}
	action, err := page.Parse(attributes(form)["action"])
	if err != nil {
		return nil, err
	}
	values := url.Values{}
	kind := ""
	for _, tag := range inputTag.FindAllString(body, -1) {
		a := attributes(tag)
		switch {
		case a["type"] == "hidden":
			values.Set(a["name"], a["value"])
		case a["name"] == "password":
			kind = "login"
		case a["name"] == "decision":
			kind = "consent"
		}
	}
	switch kind {
	case "login":
		values.Set("username", ua.Username)
		values.Set("password", ua.Password)
	case "consent":
		values.Set("decision", ua.Decision)
	default:
		return nil, errors.New("neither a login nor a consent form on " + page.Path)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(values.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}
