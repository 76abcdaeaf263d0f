// Package store defines the storage the provider needs — clients, issued
// tokens (by hash), signing keys and revocations, and for signing people in
// authorization codes, sessions, consents and interactions — behind one
// interface, [Store], with an in-memory implementation ([NewMemory]).
// Package provider/store/sqlite implements it on an embedded SQLite
// database, package provider/store/postgres on PostgreSQL for several
// replicas; package provider/store/storetest is the suite every
// implementation passes.
//
// Nothing in a Store is a usable secret except the private signing keys and
// the pairwise salt: client secrets, tokens, codes, session and interaction
// ids are kept only as SHA-256 hashes (see [Hash]).
//
// # For implementers
//
// Every method on the request path is one indexed read or one transaction:
// a point read by hash ([Store.Token], [Store.Code], [Store.Session],
// [Store.Interaction], [Store.Consent]) or one conditional write
// ([Store.RedeemCode], [Store.RotateToken], [Store.FinishInteraction],
// [Store.TakeInteraction]), so that a networked database answers each in
// one round trip. The writes whose loss would give access back — revoking,
// redeeming a code, rotating a refresh token, ending a session, revoking
// consent, deleting a client, rotating keys — are durable: once the method
// returns, not even a crash of the machine may undo them.
// A store that cannot reach its database for now wraps its errors with
// [ErrUnavailable]: the provider then answers 503 and "try again", never
// 500.
package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"slices"
	"time"
)

// ErrNotFound means the client, token or key does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrExists means a client with the same id already exists.
var ErrExists = errors.New("store: already exists")

// ErrUsed means a single-use record was used already: an authorization
// code redeemed, a refresh token rotated, an interaction finished.
var ErrUsed = errors.New("store: already used")

// ErrUnavailable means the store could not be reached or answer for now
// (a database restarting, a connection lost, a timeout): the request may
// succeed if tried again. The provider answers 503 for it, never as if the
// record were missing. Implementations wrap their cause with it.
var ErrUnavailable = errors.New("store: unavailable")

// IntrospectionRight says which tokens a client may introspect.
type IntrospectionRight int

const (
	// IntrospectNone (the zero value) forbids introspection.
	IntrospectNone IntrospectionRight = iota
	// IntrospectOwnAudience allows introspecting tokens whose audience
	// includes the client's id or one of its registered resources; every
	// other token looks inactive.
	IntrospectOwnAudience
	// IntrospectAny allows introspecting any token.
	IntrospectAny
)

// String returns "none", "audience" or "any".
func (r IntrospectionRight) String() string {
	switch r {
	case IntrospectOwnAudience:
		return "audience"
	case IntrospectAny:
		return "any"
	default:
		return "none"
	}
}

// Client is a registered OAuth 2.0 client (RFC 6749 §2).
type Client struct {
	// ID is the client_id.
	ID string
	// SecretHash is [Hash] of the client secret; nil for a public client.
	SecretHash []byte
	// Name is a human-readable label.
	Name string
	// Scopes are the scopes the client may obtain.
	Scopes []string
	// GrantTypes are the grant types the client may use.
	GrantTypes []string
	// Resources are the resource indicators (RFC 8707) the client may
	// request tokens for, and the audiences it may introspect.
	Resources []string
	// TokenLifetime is the lifetime of its access tokens; zero means the
	// provider's default.
	TokenLifetime time.Duration
	// Introspection is the client's right to introspect.
	Introspection IntrospectionRight
	// AccessTokenFormat is "" or "opaque" for opaque tokens, "jwt" for RFC
	// 9068 JWT access tokens.
	AccessTokenFormat string
	// IntrospectionSignedResponseAlg, IntrospectionEncryptedResponseAlg and
	// IntrospectionEncryptedResponseEnc are the RFC 9701 §6 registration
	// parameters.
	IntrospectionSignedResponseAlg    string
	IntrospectionEncryptedResponseAlg string
	IntrospectionEncryptedResponseEnc string
	// JWKS is the client's public JWK Set as JSON, and JWKSURI where to fetch
	// it; used to encrypt RFC 9701 responses to the client.
	JWKS    string
	JWKSURI string
	// RedirectURIs are where authorization responses may be sent (RFC 6749
	// §3.1.2), compared exactly.
	RedirectURIs []string
	// PostLogoutRedirectURIs are where the browser may be sent after
	// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §3).
	PostLogoutRedirectURIs []string
	// FirstParty clients are trusted by the provider's operator: their
	// users are not asked for consent.
	FirstParty bool
	// IDTokenSignedResponseAlg is the JWS algorithm of the client's ID
	// tokens (OpenID Connect Dynamic Client Registration §2); "" means the
	// provider's default.
	IDTokenSignedResponseAlg string
	// IDTokenIncludeClaims puts the user's claims granted by scope into the
	// ID token too, not only the userinfo answer.
	IDTokenIncludeClaims bool
	// PairwiseSubject gives the client a pairwise "sub" for each user
	// (OpenID Connect Core §8.1) instead of the user's public subject.
	PairwiseSubject bool
	// CreatedAt is when the client was registered.
	CreatedAt time.Time
}

// Public reports whether the client has no secret (RFC 6749 §2.1).
func (c *Client) Public() bool { return len(c.SecretHash) == 0 }

// Kinds of [Token].
const (
	// TokenAccess is an access token; tokens of the first release, which
	// issued no other kind, read as "".
	TokenAccess = "access"
	// TokenRefresh is a refresh token (RFC 6749 §1.5).
	TokenRefresh = "refresh"
)

// Token is an issued access or refresh token, stored by the hash of its
// value.
type Token struct {
	// Hash is [Hash] of the token value; the value itself is never stored.
	Hash []byte
	// ClientID is the client the token was issued to.
	ClientID string
	// Kind is TokenAccess (or "") or TokenRefresh.
	Kind string
	// Subject is the "sub" of the token: the client itself for client
	// credentials, the user's local subject for a user's token.
	Subject string
	// Username is the user's name, for introspection; "" for a client's
	// own token.
	Username string
	// Scope is the space-separated granted scope.
	Scope string
	// Audience is the token's audience.
	Audience []string
	// JWTID is the "jti".
	JWTID string
	// GrantID groups the tokens issued from one grant (for RFC 7009
	// revocation of related tokens); for client credentials it is the JWTID,
	// for a user's tokens the id shared by the authorization code and every
	// token descended from it.
	GrantID string
	// Format is "opaque" or "jwt".
	Format string
	// Claims holds extra claims added at issuance, as a JSON object; empty
	// when there are none.
	Claims []byte
	// IssuedAt and ExpiresAt bound the token's life.
	IssuedAt  time.Time
	ExpiresAt time.Time
	// Revoked reports whether the token was revoked.
	Revoked bool
	// AuthTime, ACR and AMR describe the user's authentication the grant
	// came from (OpenID Connect Core §2); zero for a client's own token.
	AuthTime time.Time
	ACR      string
	AMR      []string
	// GrantExpiresAt is when the grant ends: a refresh token is never
	// renewed past it (its absolute lifetime). Zero for an access token.
	GrantExpiresAt time.Time
	// UsedAt is when a refresh token was exchanged for new tokens; zero
	// until then. A refresh token is used once (RFC 9700 §4.14.2).
	UsedAt time.Time
}

// Key is a signing key of the provider.
type Key struct {
	// ID is the "kid".
	ID string
	// Alg is the key family's default JWS algorithm: "RS256", "ES256" or "EdDSA".
	Alg string
	// Private is the PKCS #8 DER encoding of the private key.
	Private []byte
	// CreatedAt is when the key was made.
	CreatedAt time.Time
	// RetiredAt is when the key stopped signing; zero while it is active.
	RetiredAt time.Time
	// NotAfter is when a retired key leaves the JWK Set: everything it
	// signed has expired by then. Zero while the key is active.
	NotAfter time.Time
}

// Active reports whether k signs new tokens.
func (k *Key) Active() bool { return k.RetiredAt.IsZero() }

// Settings are what an administrator of a store must agree on with the
// servers using it: a server saves its own when it starts, and an
// administrative program reads them, so that the two cannot disagree on
// how long a retired key must stay published or which key families exist.
type Settings struct {
	// KeyAlgorithms are the key families the server keeps: "RS256",
	// "ES256", "EdDSA".
	KeyAlgorithms []string
	// MaxTokenLifetime caps every token's lifetime.
	MaxTokenLifetime time.Duration
	// KeyRefreshInterval is how often a server re-reads the keys.
	KeyRefreshInterval time.Duration
	// PairwiseSalt is the secret mixed into pairwise subjects (OpenID
	// Connect Core §8.1); made by the first server and kept by every
	// other, since changing it changes every pairwise subject.
	PairwiseSalt []byte
}

// Store persists the provider's state. Implementations must be safe for
// concurrent use, and a write must be visible to every read that starts
// after it returns (so a revoked token never reads as live afterwards).
type Store interface {
	// CreateClient adds c, or fails with [ErrExists].
	CreateClient(ctx context.Context, c *Client) error
	// Client returns the client with the given id, or [ErrNotFound].
	Client(ctx context.Context, id string) (*Client, error)
	// Clients returns every client, ordered by id.
	Clients(ctx context.Context) ([]*Client, error)
	// DeleteClient removes a client and every token issued to it, or fails
	// with [ErrNotFound]. A persistent store commits it durably. It
	// appends an [Event] (reason client_deleted) for each of the client's
	// access tokens that was not revoked yet, in the same transaction.
	DeleteClient(ctx context.Context, id string) error

	// SaveToken records an issued token. It fails with an error matching
	// [ErrNotFound] if the token's client does not exist, so that a token
	// issued while its client is being deleted (by this process or
	// another) does not outlive it.
	SaveToken(ctx context.Context, t *Token) error
	// Token returns the token whose hash is hash, or [ErrNotFound].
	Token(ctx context.Context, hash []byte) (*Token, error)
	// RevokeGrant marks every token of the grant revoked and reports how
	// many there were. A persistent store commits it durably: once it
	// returns, not even a crash of the machine may make the tokens live
	// again. It appends an [Event] with reason (one of the secevent.Reason*
	// values) for each access token of the grant that was not revoked yet,
	// in the same transaction.
	RevokeGrant(ctx context.Context, grantID, reason string) (int64, error)
	// DeleteExpiredTokens removes at most limit tokens that expired before
	// the given time, in one transaction, and reports how many; a caller
	// deleting them all calls it again while it returns limit. Writes by
	// others wait for at most one such batch.
	DeleteExpiredTokens(ctx context.Context, before time.Time, limit int) (int64, error)

	// Keys returns every signing key, newest first.
	Keys(ctx context.Context) ([]*Key, error)
	// RotateKeys atomically, for each key in add: retires the active keys of
	// the same Alg (RetiredAt = now, NotAfter = retain) and inserts it — but
	// if onlyIfMissing is true and an active key of that Alg exists, it
	// skips that key instead (two processes starting at once). It then
	// deletes retired keys whose NotAfter is before now. It reports how many
	// keys it inserted. A persistent store commits it durably.
	RotateKeys(ctx context.Context, add []*Key, now, retain time.Time, onlyIfMissing bool) (int, error)

	// Settings returns the settings last saved, or [ErrNotFound].
	Settings(ctx context.Context) (*Settings, error)
	// SaveSettings replaces the settings.
	SaveSettings(ctx context.Context, s *Settings) error

	// SaveCode records an authorization code; it fails with an error
	// matching [ErrNotFound] if the code's client does not exist.
	SaveCode(ctx context.Context, c *Code) error
	// Code returns the code whose hash is hash, used or not, or
	// [ErrNotFound].
	Code(ctx context.Context, hash []byte) (*Code, error)
	// RedeemCode, in one durable transaction, marks the code used at usedAt
	// and saves tokens, the tokens issued for it — unless the code was
	// used already (ErrUsed) or does not exist (ErrNotFound): then it
	// saves nothing.
	RedeemCode(ctx context.Context, hash []byte, usedAt time.Time, tokens ...*Token) error
	// RotateToken, in one durable transaction, marks the refresh token
	// whose hash is hash used at usedAt and saves tokens, those issued in
	// exchange — unless it was used or revoked already (ErrUsed) or does
	// not exist (ErrNotFound): then it saves nothing.
	RotateToken(ctx context.Context, hash []byte, usedAt time.Time, tokens ...*Token) error
	// RevokeConsent, in one durable transaction, deletes the consent of
	// subject to the client clientID (to every client if clientID is ""),
	// revokes every token of subject issued to that client, and marks its
	// unredeemed codes used. It reports how many tokens it revoked, and
	// appends an [Event] (reason grant_revoked) for each access token
	// among them.
	RevokeConsent(ctx context.Context, subject, clientID string) (int64, error)

	// SaveConsent records a consent, replacing the one of the same subject
	// and client. It fails with an error matching [ErrNotFound] if the
	// client does not exist.
	SaveConsent(ctx context.Context, c *Consent) error
	// Consent returns the consent of subject to clientID, or [ErrNotFound].
	Consent(ctx context.Context, subject, clientID string) (*Consent, error)
	// Consents returns the consents of subject, ordered by client id.
	Consents(ctx context.Context, subject string) ([]*Consent, error)

	// SaveSession records a new provider session.
	SaveSession(ctx context.Context, s *Session) error
	// Session returns the session whose hash is hash, or [ErrNotFound].
	Session(ctx context.Context, hash []byte) (*Session, error)
	// DeleteSession durably ends the session whose hash is hash; ending
	// one that does not exist is not an error.
	DeleteSession(ctx context.Context, hash []byte) error
	// DeleteSessions durably ends every session of subject and reports
	// how many there were.
	DeleteSessions(ctx context.Context, subject string) (int64, error)

	// SaveInteraction records a new interaction.
	SaveInteraction(ctx context.Context, i *Interaction) error
	// Interaction returns the interaction whose hash is hash, or
	// [ErrNotFound].
	Interaction(ctx context.Context, hash []byte) (*Interaction, error)
	// FinishInteraction sets the result of an interaction that has none
	// yet; it fails with ErrUsed if it has one, ErrNotFound if there is no
	// such interaction.
	FinishInteraction(ctx context.Context, hash []byte, result []byte) error
	// TakeInteraction deletes the interaction whose hash is hash and
	// returns it, or fails with ErrNotFound: of two callers, one gets it.
	TakeInteraction(ctx context.Context, hash []byte) (*Interaction, error)

	// DeleteExpired removes at most limit codes, sessions, consents and
	// interactions that expired before the given time, in one
	// transaction, and reports how many; like [Store.DeleteExpiredTokens],
	// a caller deleting them all calls it again while it returns limit.
	DeleteExpired(ctx context.Context, before time.Time, limit int) (int64, error)

	// Events returns the store's log of revocation events and at most
	// limit of its events after position after, oldest first; with limit
	// 0, the log alone. An event appended after Events returns has a
	// position above every one it returned (see [Event.Position]).
	Events(ctx context.Context, after int64, limit int) (*EventLog, []*Event, error)
	// DeleteEvents removes at most limit events whose token expired before
	// tokenExpiredBefore or that were appended before appendedBefore, in
	// one transaction, and reports how many; like
	// [Store.DeleteExpiredTokens], a caller deleting them all calls it
	// again while it returns limit.
	DeleteEvents(ctx context.Context, tokenExpiredBefore, appendedBefore time.Time, limit int) (int64, error)

	// Close releases the store's resources.
	Close() error
}

// Hash returns the SHA-256 digest of a client secret or token value.
//
// A fast, unsalted hash is the right choice here, unlike for passwords: the
// provider only hashes values it generated itself from 256 bits of
// crypto/rand, so there is no dictionary to try and brute force over 2^256
// inputs is out of reach however fast the hash is. A slow KDF (bcrypt,
// argon2) would only cost CPU on every request — the introspection endpoint
// authenticates a client per call — and an unsalted digest lets tokens be
// looked up by hash.
func Hash(value string) []byte {
	h := sha256.Sum256([]byte(value))
	return h[:]
}

// Equal compares two hashes in constant time.
func Equal(a, b []byte) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare(a, b) == 1
}

// cloneClient returns a deep copy so callers cannot alias store state.
func cloneClient(c *Client) *Client {
	cc := *c
	cc.SecretHash = slices.Clone(c.SecretHash)
	cc.Scopes = slices.Clone(c.Scopes)
	cc.GrantTypes = slices.Clone(c.GrantTypes)
	cc.Resources = slices.Clone(c.Resources)
	cc.RedirectURIs = slices.Clone(c.RedirectURIs)
	cc.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	return &cc
}

// Clone returns a deep copy of t, which shares no slice with it: a store
// hands each caller a token of its own.
func (t *Token) Clone() *Token {
	tt := *t
	tt.Hash = slices.Clone(t.Hash)
	tt.Audience = slices.Clone(t.Audience)
	tt.Claims = slices.Clone(t.Claims)
	tt.AMR = slices.Clone(t.AMR)
	return &tt
}

func cloneKey(k *Key) *Key {
	kk := *k
	kk.Private = slices.Clone(k.Private)
	return &kk
}
