// Package signin is the provider's built-in sign-in and consent pages: what
// "tokengate serve" and "tokengate demo" show a person when an application
// sends them to sign in. It drives the provider's headless interaction API
// (provider.Provider's Interaction, FinishLogin, FinishConsent and Deny)
// with the users of package provider/users. An application with users of
// its own uses that API directly instead.
//
// The pages are html/template, work without JavaScript, label every input,
// name the application and describe each scope it asks for in words. Their
// forms have stable field names, for password managers and test tools: the
// login form posts "username" and "password" (autocomplete "username" and
// "current-password"), the consent form "decision=approve" or
// "decision=deny". Config.Templates replaces any of them without forking.
//
// Every page is sent with Cache-Control: no-store, X-Frame-Options: DENY
// and a Content-Security-Policy with frame-ancestors 'none' and no scripts.
// Every form carries a CSRF token (a signed double submit: an HMAC of the
// interaction id under a random value in a host-only, HttpOnly,
// SameSite=Strict cookie, __Host- prefixed on https) and is also refused
// when the browser says it comes from another site
// (http.CrossOriginProtection). Bad input — an unknown or expired
// interaction, a malformed, oversized or duplicated form field, invalid
// UTF-8 — gets an error page in words, never a server error. Wrong
// passwords and unknown users get the same answer; failed sign-ins are
// throttled per (username, address) and per address (provider/users).
// Nothing the pages log holds a password, a username, an interaction id or
// a cookie.
package signin
