package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tokengate/tokengate/provider/store"
)

// AdminConfig configures an [Admin] made by [NewAdmin].
type AdminConfig struct {
	// Store is the store to administer. It is required: an Admin of a new
	// in-memory store would administer nothing anyone can see.
	Store store.Store
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// Admin administers a provider's store: it registers, lists and deletes
// clients, rotates signing keys, lists and revokes users' consents and ends
// their sessions, as the "tokengate client", "tokengate keys" and
// "tokengate consent" commands do. It is safe for concurrent use and starts no
// goroutines.
//
// [NewAdmin] makes one for a program that never serves: it needs no issuer,
// and it may work on a store that servers in other processes use at the
// same time. What it must agree on with them — the key families, the
// longest token lifetime and how often servers re-read the keys, which
// decide how long a retired key stays published — it reads from the store,
// where each server saves its own when it starts ([store.Settings]), so the
// two cannot disagree. [Provider.Admin] returns the one of a running
// Provider, whose changes that Provider sees at once.
type Admin struct {
	store store.Store
	now   func() time.Time
	// settings returns what the Admin must agree on with the servers.
	settings func(context.Context) (*store.Settings, error)
	// changed, if set, is told about a client registered or deleted (id)
	// or keys rotated (id ""), for a Provider to forget or reload them.
	changed func(ctx context.Context, clientID string) error
	// revoked, if set, is told that tokens were revoked, for a Provider
	// to wake the polls of its events endpoint.
	revoked func()
}

// NewAdmin returns an Admin of cfg.Store. Like [New], on a store without
// signing keys it generates them and saves them (for the families of the
// store's settings, or RS256, ES256 and EdDSA when no server has saved any
// yet), so that the database is complete whichever opens it first.
func NewAdmin(cfg AdminConfig) (*Admin, error) {
	if cfg.Store == nil {
		return nil, errors.New("provider: AdminConfig.Store is required to administer a store")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &Admin{store: cfg.Store, now: cfg.Now}
	a.settings = a.storedSettings
	ctx := context.Background()
	s, err := a.settings(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.ensureKeys(ctx, s.KeyAlgorithms); err != nil {
		return nil, err
	}
	return a, nil
}

// storedSettings reads the settings the servers saved, or the defaults of
// [Config] when none has yet.
func (a *Admin) storedSettings(ctx context.Context) (*store.Settings, error) {
	s, err := a.store.Settings(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return &store.Settings{KeyAlgorithms: defaultKeyAlgorithms(), MaxTokenLifetime: DefaultMaxTokenLifetime,
			KeyRefreshInterval: DefaultKeyRefreshInterval}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("provider: reading the store's settings: %w", err)
	}
	return s, nil
}

// RegisterClient validates spec, registers a new client with a generated id
// and, unless it is public, a generated 256-bit secret. The secret is
// returned once and only its hash is stored. Errors from validation match
// [ErrInvalidClient].
func (a *Admin) RegisterClient(ctx context.Context, spec ClientSpec) (*Client, string, error) {
	s, err := a.settings(ctx)
	if err != nil {
		return nil, "", err
	}
	c, err := clientFromSpec(spec, s)
	if err != nil {
		return nil, "", err
	}
	var secret string
	if !spec.Public {
		secret = ClientSecretPrefix + randomString(32)
		c.SecretHash = store.Hash(secret)
	}
	c.ID = ClientIDPrefix + randomString(16)
	c.CreatedAt = a.now()
	if err := a.store.CreateClient(ctx, c); err != nil {
		return nil, "", fmt.Errorf("provider: registering client: %w", err)
	}
	if err := a.notify(ctx, c.ID); err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

// Clients returns every registered client, ordered by id.
func (a *Admin) Clients(ctx context.Context) ([]*Client, error) {
	cs, err := a.store.Clients(ctx)
	if err != nil {
		return nil, fmt.Errorf("provider: listing clients: %w", err)
	}
	return cs, nil
}

// DeleteClient deletes a client and the tokens issued to it, which become
// inactive at once. A missing client matches store.ErrNotFound. The
// Provider of [Provider.Admin] stops authenticating the client at once; a
// server in another process within its ClientCacheTTL.
func (a *Admin) DeleteClient(ctx context.Context, id string) error {
	err := a.store.DeleteClient(ctx, id)
	if nerr := a.notify(ctx, id); err == nil {
		err = nerr
	}
	if err != nil {
		return fmt.Errorf("provider: deleting client %q: %w", id, err)
	}
	return nil
}

// RotateKeys makes a new signing key for each of the key families algs
// (AlgRS256, AlgES256, AlgEdDSA; none means every family of the store's
// settings; any other is an error). The keys they replace stop signing at
// once but stay in the JWK Set until everything they signed has expired:
// for MaxTokenLifetime, plus twice KeyRefreshInterval and a minute, because
// servers on the same store go on signing with an old key until they
// re-read the keys. The Provider of [Provider.Admin] signs with the new
// keys at once; other servers within their KeyRefreshInterval.
func (a *Admin) RotateKeys(ctx context.Context, algs ...string) error {
	s, err := a.settings(ctx)
	if err != nil {
		return err
	}
	if len(algs) == 0 {
		algs = s.KeyAlgorithms
	}
	now := a.now()
	var add []*store.Key
	for _, fam := range algs {
		if !slices.Contains(s.KeyAlgorithms, fam) {
			return fmt.Errorf("provider: rotating keys: %q is not one of the key algorithms %v", fam, s.KeyAlgorithms)
		}
		if slices.ContainsFunc(add, func(k *store.Key) bool { return k.Alg == fam }) {
			continue
		}
		k, err := generateKey(fam, now)
		if err != nil {
			return err
		}
		add = append(add, k)
	}
	retain := now.Add(s.MaxTokenLifetime + 2*s.KeyRefreshInterval + time.Minute)
	if _, err := a.store.RotateKeys(ctx, add, now, retain, false); err != nil {
		return fmt.Errorf("provider: rotating keys: %w", err)
	}
	return a.notify(ctx, "")
}

func (a *Admin) notify(ctx context.Context, clientID string) error {
	if a.changed == nil {
		return nil
	}
	return a.changed(ctx, clientID)
}

// ensureKeys creates a key for every family in fams that has no active key
// yet (first start). Two processes racing here are resolved by the store.
func (a *Admin) ensureKeys(ctx context.Context, fams []string) error {
	keys, err := a.store.Keys(ctx)
	if err != nil {
		return fmt.Errorf("provider: reading keys: %w", err)
	}
	var add []*store.Key
	now := a.now()
	for _, fam := range fams {
		if slices.ContainsFunc(keys, func(k *store.Key) bool { return k.Alg == fam && k.Active() }) {
			continue
		}
		k, err := generateKey(fam, now)
		if err != nil {
			return err
		}
		add = append(add, k)
	}
	if len(add) > 0 {
		if _, err := a.store.RotateKeys(ctx, add, now, time.Time{}, true); err != nil {
			return fmt.Errorf("provider: saving keys: %w", err)
		}
	}
	return nil
}

// Consents returns what the user subject consented to, one consent per
// client, ordered by client id ("tokengate consent list").
func (a *Admin) Consents(ctx context.Context, subject string) ([]*store.Consent, error) {
	cs, err := a.store.Consents(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("provider: listing consents: %w", err)
	}
	return cs, nil
}

// RevokeConsent revokes the consent of the user subject to the client
// clientID — to every client if clientID is "" — and with it every token
// of that user issued to that client, refresh tokens included, and every
// code not yet redeemed ("tokengate consent revoke"). The user is asked
// again at the next authorization. It reports how many tokens it revoked;
// once it returns, they are inactive, in every process sharing the store.
func (a *Admin) RevokeConsent(ctx context.Context, subject, clientID string) (int64, error) {
	if subject == "" {
		return 0, errors.New("provider: revoking consent: the subject is empty")
	}
	n, err := a.store.RevokeConsent(ctx, subject, clientID)
	if err != nil {
		return 0, fmt.Errorf("provider: revoking consent: %w", err)
	}
	if n > 0 && a.revoked != nil {
		a.revoked()
	}
	return n, nil
}

// EndSessions ends every provider session of the user subject, in every
// browser: the user signs in again at the next authorization. Tokens
// already issued stay valid (see [Admin.RevokeConsent]). It reports how
// many sessions there were.
func (a *Admin) EndSessions(ctx context.Context, subject string) (int64, error) {
	if subject == "" {
		return 0, errors.New("provider: ending sessions: the subject is empty")
	}
	n, err := a.store.DeleteSessions(ctx, subject)
	if err != nil {
		return 0, fmt.Errorf("provider: ending sessions: %w", err)
	}
	return n, nil
}
