// Package discovery reads an authorization server's metadata: RFC 8414
// (/.well-known/oauth-authorization-server) first, then OpenID Connect
// Discovery 1.0 (/.well-known/openid-configuration).
package discovery
