package store

import (
	"slices"
	"time"
)

// Code is an authorization code (RFC 6749 §4.1.2), stored by the hash of
// its value, with everything the token request must match and everything
// the tokens issued for it carry.
type Code struct {
	// Hash is [Hash] of the code; the code itself is never stored.
	Hash []byte
	// ClientID is the client the code was issued to.
	ClientID string
	// GrantID is the id every token issued from the code carries, so that
	// a second presentation of the code revokes them all.
	GrantID string
	// Subject and Username are the user's.
	Subject  string
	Username string
	// RedirectURI is the redirect_uri of the authorization request, which
	// the token request must repeat (RFC 6749 §4.1.3); "" if it had none.
	RedirectURI string
	// Scope is the space-separated granted scope.
	Scope string
	// Audience is the audience of the access tokens to issue.
	Audience []string
	// CodeChallenge is the PKCE S256 challenge (RFC 7636 §4.2).
	CodeChallenge string
	// Nonce is the OpenID Connect nonce for the ID token; "" if none.
	Nonce string
	// AuthTime, ACR and AMR describe the user's authentication.
	AuthTime time.Time
	ACR      string
	AMR      []string
	// IssuedAt and ExpiresAt bound the code's life.
	IssuedAt  time.Time
	ExpiresAt time.Time
	// UsedAt is when the code was redeemed; zero until then.
	UsedAt time.Time
}

// Consent is what a user granted a client, kept so that the user is not
// asked again while it covers what the client asks for.
type Consent struct {
	// Subject is the user's local subject.
	Subject string
	// ClientID is the client consented to.
	ClientID string
	// Scopes are the scopes granted.
	Scopes []string
	// GrantedAt is when the consent was last given, ExpiresAt when it
	// lapses.
	GrantedAt time.Time
	ExpiresAt time.Time
}

// Session is a provider session: a browser where a user signed in, stored
// by the hash of the id its cookie holds.
type Session struct {
	// Hash is [Hash] of the session id.
	Hash []byte
	// Subject and Username are the signed-in user's.
	Subject  string
	Username string
	// AuthTime, ACR and AMR describe the authentication.
	AuthTime time.Time
	ACR      string
	AMR      []string
	// CreatedAt and ExpiresAt bound the session's life.
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Interaction is an authorization request waiting for the application to
// sign the user in or to ask for consent. The store keeps Request and
// Result as the provider wrote them.
type Interaction struct {
	// Hash is [Hash] of the interaction id.
	Hash []byte
	// BrowserHash is [Hash] of the secret of the browser the interaction
	// is bound to.
	BrowserHash []byte
	// Kind is "login" or "consent".
	Kind string
	// Request is the provider's record of the authorization request.
	Request []byte
	// Result is the provider's record of how the interaction ended; nil
	// while it is pending.
	Result []byte
	// CreatedAt and ExpiresAt bound the interaction's life.
	CreatedAt time.Time
	ExpiresAt time.Time
}

func cloneCode(c *Code) *Code {
	cc := *c
	cc.Hash = slices.Clone(c.Hash)
	cc.Audience = slices.Clone(c.Audience)
	cc.AMR = slices.Clone(c.AMR)
	return &cc
}

func cloneConsent(c *Consent) *Consent {
	cc := *c
	cc.Scopes = slices.Clone(c.Scopes)
	return &cc
}

func cloneSession(s *Session) *Session {
	ss := *s
	ss.Hash = slices.Clone(s.Hash)
	ss.AMR = slices.Clone(s.AMR)
	return &ss
}

func cloneInteraction(i *Interaction) *Interaction {
	ii := *i
	ii.Hash = slices.Clone(i.Hash)
	ii.BrowserHash = slices.Clone(i.BrowserHash)
	ii.Request = slices.Clone(i.Request)
	ii.Result = slices.Clone(i.Result)
	return &ii
}
