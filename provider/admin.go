package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tokengate/tokengate/provider/store"
)

// Admin administers a provider's store without serving it: it registers,
// lists and deletes clients and rotates signing keys, as the "tokengate
// client" and "tokengate keys" commands do. It needs no issuer, and it may
// work on a store that a server in another process is using at the same
// time (see the package documentation, "Serving and administering").
//
// A [Provider] can do all of this too; Admin is for a program that never
// serves. It is safe for concurrent use and starts no goroutines.
type Admin struct {
	cfg Config // defaults filled in by NewAdmin or New
}

// NewAdmin returns an Admin of cfg.Store, which is required (an Admin of a
// new in-memory store would administer nothing anyone can see). Of the rest
// of cfg, it uses KeyAlgorithms, MaxTokenLifetime, DefaultTokenLifetime,
// KeyRefreshInterval and Now, with the same defaults as [New]: give them the
// values the server uses. Issuer and the serving settings are ignored.
//
// Like New, on a store without signing keys it generates them and saves
// them, so that the database is complete whichever opens it first.
func NewAdmin(cfg Config) (*Admin, error) {
	if cfg.Store == nil {
		return nil, errors.New("provider: Config.Store is required to administer a store")
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	a := &Admin{cfg: cfg}
	if err := a.ensureKeys(context.Background()); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Admin) now() time.Time { return a.cfg.Now() }

// RegisterClient validates spec, registers a new client with a generated id
// and, unless it is public, a generated 256-bit secret. The secret is
// returned once and only its hash is stored. Errors from validation match
// [ErrInvalidClient].
func (a *Admin) RegisterClient(ctx context.Context, spec ClientSpec) (*Client, string, error) {
	c, err := a.clientFromSpec(spec)
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
	if err := a.cfg.Store.CreateClient(ctx, c); err != nil {
		return nil, "", fmt.Errorf("provider: registering client: %w", err)
	}
	return c, secret, nil
}

// Clients returns every registered client, ordered by id.
func (a *Admin) Clients(ctx context.Context) ([]*Client, error) {
	cs, err := a.cfg.Store.Clients(ctx)
	if err != nil {
		return nil, fmt.Errorf("provider: listing clients: %w", err)
	}
	return cs, nil
}

// DeleteClient deletes a client and the tokens issued to it, which become
// inactive at once. A missing client matches store.ErrNotFound. A server in
// another process stops authenticating the client within its
// ClientCacheTTL.
func (a *Admin) DeleteClient(ctx context.Context, id string) error {
	if err := a.cfg.Store.DeleteClient(ctx, id); err != nil {
		return fmt.Errorf("provider: deleting client %q: %w", id, err)
	}
	return nil
}

// RotateKeys makes a new signing key for each of the key families algs
// (AlgRS256, AlgES256, AlgEdDSA; none means every family in
// Config.KeyAlgorithms; any other is an error). The keys they replace stop
// signing at once but stay in the JWK Set until everything they signed has
// expired: for MaxTokenLifetime, plus twice KeyRefreshInterval and a minute,
// because servers on the same store go on signing with an old key until they
// re-read the keys (within KeyRefreshInterval).
func (a *Admin) RotateKeys(ctx context.Context, algs ...string) error {
	if len(algs) == 0 {
		algs = a.cfg.KeyAlgorithms
	}
	now := a.now()
	var add []*store.Key
	for _, fam := range algs {
		if !slices.Contains(a.cfg.KeyAlgorithms, fam) {
			return fmt.Errorf("provider: rotating keys: %q is not one of the key algorithms %v", fam, a.cfg.KeyAlgorithms)
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
	retain := now.Add(a.cfg.MaxTokenLifetime + 2*a.cfg.KeyRefreshInterval + time.Minute)
	if _, err := a.cfg.Store.RotateKeys(ctx, add, now, retain, false); err != nil {
		return fmt.Errorf("provider: rotating keys: %w", err)
	}
	return nil
}

// ensureKeys creates a key for every configured family that has no active
// key yet (first start). Two processes racing here are resolved by the store.
func (a *Admin) ensureKeys(ctx context.Context) error {
	keys, err := a.cfg.Store.Keys(ctx)
	if err != nil {
		return fmt.Errorf("provider: reading keys: %w", err)
	}
	var add []*store.Key
	now := a.now()
	for _, fam := range a.cfg.KeyAlgorithms {
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
		if _, err := a.cfg.Store.RotateKeys(ctx, add, now, time.Time{}, true); err != nil {
			return fmt.Errorf("provider: saving keys: %w", err)
		}
	}
	return nil
}
