// Package oauthhttp is the HTTP plumbing shared by tokengate's OAuth 2.0
// clients: a form POST with explicit Content-Type and Accept (RFC 6749 §3.2,
// RFC 7662 §2.1), a bounded body read, client_secret_basic credentials encoded
// as RFC 6749 §2.3.1 requires, RFC 6749 §5.2 error decoding and Retry-After
// parsing (RFC 9110 §10.2.3).
//
// It is internal: public packages mirror what they need (for example
// introspect.Error) and convert at their boundary.
package oauthhttp
