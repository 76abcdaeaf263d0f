// Package tokeninfo is the wire model of what an authorization server says
// about an access token: the RFC 7662 §2.2 introspection response, which the
// resource-server side decodes and the provider encodes.
//
// A [Response] decodes tolerantly from JSON (servers differ on the types of
// active and the times), encodes in canonical RFC 7662 form, and answers one
// question the same way everywhere: [Response.ValidAt], whether the token is
// active and within its exp and nbf (RFC 7519 §4.1.4 and §4.1.5) at a given
// time with a given clock skew.
//
// The package imports only the standard library, so that an authorization
// server can use the model without the introspection client and its
// dependencies. Package introspect names the same type introspect.Response.
package tokeninfo
