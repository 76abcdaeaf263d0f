// Package storetest is a conformance suite for implementations of
// [store.Store]. It is NOT suitable outside tests.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/secevent"
)

// Run runs the conformance suite; newStore must return an empty store.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("Clients", func(t *testing.T) {
		s := newStore(t)
		c := &store.Client{
			ID: "c1'; DROP TABLE clients; --", SecretHash: store.Hash("s"), Name: `Robert"); --`,
			Scopes: []string{"read", "write"}, GrantTypes: []string{"client_credentials"},
			Resources: []string{"https://api.example/"}, TokenLifetime: 90 * time.Second,
			Introspection: store.IntrospectAny, AccessTokenFormat: "jwt",
			IntrospectionSignedResponseAlg: "ES256", IntrospectionEncryptedResponseAlg: "RSA-OAEP-256",
			IntrospectionEncryptedResponseEnc: "A256GCM", JWKS: `{"keys":[]}`, JWKSURI: "https://rs.example/jwks",
			RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1/cb"}, PostLogoutRedirectURIs: []string{"https://app.example/bye"},
			FirstParty: true, IDTokenSignedResponseAlg: "EdDSA", IDTokenIncludeClaims: true, PairwiseSubject: true,
			CreatedAt: now,
		}
		if err := s.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateClient(ctx, c); !errors.Is(err, store.ErrExists) {
			t.Fatalf("second CreateClient = %v, want ErrExists", err)
		}
		got, err := s.Client(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.CreatedAt.Equal(c.CreatedAt) {
			t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, c.CreatedAt)
		}
		got.CreatedAt = c.CreatedAt
		if fmt.Sprint(*got) != fmt.Sprint(*c) {
			t.Errorf("Client = %+v\nwant %+v", *got, *c)
		}
		got.Scopes[0] = "mutated"
		if again, _ := s.Client(ctx, c.ID); again.Scopes[0] != "read" {
			t.Error("Client returned an alias of the stored state")
		}
		pub := &store.Client{ID: "a-public", CreatedAt: now}
		if err := s.CreateClient(ctx, pub); err != nil {
			t.Fatal(err)
		}
		if g, _ := s.Client(ctx, "a-public"); !g.Public() {
			t.Error("client without secret is not public")
		}
		list, err := s.Clients(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != "a-public" || list[1].ID != c.ID {
			t.Errorf("Clients = %v", list)
		}
		if _, err := s.Client(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Client(nope) = %v, want ErrNotFound", err)
		}
		if err := s.DeleteClient(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteClient(nope) = %v, want ErrNotFound", err)
		}
	})

	t.Run("Tokens", func(t *testing.T) {
		s := newStore(t)
		if err := s.CreateClient(ctx, &store.Client{ID: "c", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		tok := &store.Token{
			Hash: store.Hash("tok"), ClientID: "c", Subject: "c", Scope: "a b",
			Audience: []string{"x", "' OR 1=1 --"}, JWTID: "j1", GrantID: "g1", Format: "opaque",
			Claims: []byte(`{"k":"v"}`), IssuedAt: now, ExpiresAt: now.Add(time.Hour),
			Kind: store.TokenRefresh, Username: "alice", AuthTime: now.Add(-time.Minute), ACR: "urn:acr:2",
			AMR: []string{"pwd", "otp"}, GrantExpiresAt: now.Add(48 * time.Hour),
		}
		if err := s.SaveToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		got, err := s.Token(ctx, store.Hash("tok"))
		if err != nil {
			t.Fatal(err)
		}
		if !got.ExpiresAt.Equal(tok.ExpiresAt) || !got.IssuedAt.Equal(tok.IssuedAt) || got.Revoked ||
			!slices.Equal(got.Audience, tok.Audience) || string(got.Claims) != string(tok.Claims) ||
			got.Scope != tok.Scope || got.GrantID != "g1" || got.JWTID != "j1" || got.Format != "opaque" ||
			got.Kind != tok.Kind || got.Username != tok.Username || !got.AuthTime.Equal(tok.AuthTime) || got.ACR != tok.ACR ||
			!slices.Equal(got.AMR, tok.AMR) || !got.GrantExpiresAt.Equal(tok.GrantExpiresAt) || !got.UsedAt.IsZero() {
			t.Errorf("Token = %+v, want %+v", got, tok)
		}
		if _, err := s.Token(ctx, store.Hash("other")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Token(other) = %v, want ErrNotFound", err)
		}
		if n, err := s.RevokeGrant(ctx, "g1", secevent.ReasonRevoked); err != nil || n != 1 {
			t.Fatalf("RevokeGrant = %d, %v", n, err)
		}
		if got, _ := s.Token(ctx, store.Hash("tok")); !got.Revoked {
			t.Error("token not revoked")
		}
		if n, err := s.RevokeGrant(ctx, "unknown", secevent.ReasonRevoked); err != nil || n != 0 {
			t.Errorf("RevokeGrant(unknown) = %d, %v", n, err)
		}
		old := &store.Token{Hash: store.Hash("old"), ClientID: "c", GrantID: "g2", IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}
		if err := s.SaveToken(ctx, old); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteExpiredTokens(ctx, now, 100); err != nil || n != 1 {
			t.Errorf("DeleteExpiredTokens = %d, %v; want 1", n, err)
		}
		if _, err := s.Token(ctx, store.Hash("old")); !errors.Is(err, store.ErrNotFound) {
			t.Error("expired token survived the sweep")
		}
		if err := s.DeleteClient(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Token(ctx, store.Hash("tok")); !errors.Is(err, store.ErrNotFound) {
			t.Error("token survived deleting its client")
		}
		// A token endpoint that authenticated the client just before it
		// was deleted must not leave an orphan token that stays active.
		late := &store.Token{Hash: store.Hash("late"), ClientID: "c", GrantID: "g3", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.SaveToken(ctx, late); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SaveToken for a deleted client = %v, want ErrNotFound", err)
		}
		if _, err := s.Token(ctx, store.Hash("late")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("token of a deleted client: Token = %v, want ErrNotFound", err)
		}
	})

	// SweepInBatches: DeleteExpiredTokens deletes at most limit tokens per
	// call, expired ones only, so that a sweep of many can leave room to
	// other writers between batches.
	t.Run("SweepInBatches", func(t *testing.T) {
		s := newStore(t)
		if err := s.CreateClient(ctx, &store.Client{ID: "c", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		for i := range 25 {
			exp := now.Add(-time.Duration(i+1) * time.Minute)
			if i >= 20 {
				exp = now.Add(time.Hour) // 5 live tokens
			}
			tok := &store.Token{Hash: store.Hash(fmt.Sprint("t", i)), ClientID: "c", GrantID: fmt.Sprint("g", i),
				IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: exp}
			if err := s.SaveToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		var got []int64
		for range 5 {
			n, err := s.DeleteExpiredTokens(ctx, now, 8)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, n)
		}
		if !slices.Equal(got, []int64{8, 8, 4, 0, 0}) {
			t.Errorf("batches of 8 deleted %v, want [8 8 4 0 0]", got)
		}
		for i := 20; i < 25; i++ {
			if _, err := s.Token(ctx, store.Hash(fmt.Sprint("t", i))); err != nil {
				t.Errorf("live token %d: %v", i, err)
			}
		}
		if _, err := s.DeleteExpiredTokens(ctx, now, 0); err == nil {
			t.Error("DeleteExpiredTokens with limit 0 succeeded")
		}
	})

	t.Run("RevokeRace", func(t *testing.T) {
		s := newStore(t)
		if err := s.CreateClient(ctx, &store.Client{ID: "c", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			h := store.Hash(fmt.Sprint("t", i))
			g := fmt.Sprint("g", i)
			if err := s.SaveToken(ctx, &store.Token{Hash: h, ClientID: "c", GrantID: g, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					if _, err := s.Token(ctx, h); err != nil {
						t.Error(err)
					}
				})
			}
			if _, err := s.RevokeGrant(ctx, g, secevent.ReasonRevoked); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Token(ctx, h); err != nil || !got.Revoked {
				t.Fatalf("after RevokeGrant returned, token reads as not revoked (%v)", err)
			}
			wg.Wait()
		}
	})

	t.Run("Settings", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Settings(ctx); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Settings of a new store = %v, want ErrNotFound", err)
		}
		want := &store.Settings{KeyAlgorithms: []string{"ES256", "EdDSA"}, MaxTokenLifetime: 90 * time.Minute, KeyRefreshInterval: 30 * time.Second,
			PairwiseSalt: []byte("salt")}
		for range 2 { // saving again replaces
			if err := s.SaveSettings(ctx, want); err != nil {
				t.Fatal(err)
			}
			got, err := s.Settings(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.KeyAlgorithms, want.KeyAlgorithms) || got.MaxTokenLifetime != want.MaxTokenLifetime ||
				got.KeyRefreshInterval != want.KeyRefreshInterval || string(got.PairwiseSalt) != string(want.PairwiseSalt) {
				t.Errorf("Settings = %+v, want %+v", got, want)
			}
			got.KeyAlgorithms[0] = "mutated"
			want = &store.Settings{KeyAlgorithms: []string{"RS256"}, MaxTokenLifetime: time.Hour, KeyRefreshInterval: time.Minute,
				PairwiseSalt: []byte("other salt")}
		}
	})

	runSignIn(t, newStore, now)
	runEvents(t, newStore, now)

	t.Run("Keys", func(t *testing.T) {
		s := newStore(t)
		k1 := &store.Key{ID: "k1", Alg: "ES256", Private: []byte{1}, CreatedAt: now}
		k2 := &store.Key{ID: "k2", Alg: "RS256", Private: []byte{2}, CreatedAt: now.Add(time.Second)}
		if n, err := s.RotateKeys(ctx, []*store.Key{k1, k2}, now, time.Time{}, true); err != nil || n != 2 {
			t.Fatalf("RotateKeys = %d, %v", n, err)
		}
		k3 := &store.Key{ID: "k3", Alg: "ES256", Private: []byte{3}, CreatedAt: now.Add(2 * time.Second)}
		if n, err := s.RotateKeys(ctx, []*store.Key{k3}, now, time.Time{}, true); err != nil || n != 0 {
			t.Fatalf("RotateKeys(onlyIfMissing) = %d, %v; want 0", n, err)
		}
		later := now.Add(time.Minute)
		if n, err := s.RotateKeys(ctx, []*store.Key{k3}, later, later.Add(time.Hour), false); err != nil || n != 1 {
			t.Fatalf("RotateKeys = %d, %v; want 1", n, err)
		}
		keys, err := s.Keys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range keys {
			ids = append(ids, k.ID)
			switch k.ID {
			case "k1":
				if k.Active() || !k.NotAfter.Equal(later.Add(time.Hour)) {
					t.Errorf("k1 = %+v, want retired until %v", k, later.Add(time.Hour))
				}
			case "k2", "k3":
				if !k.Active() {
					t.Errorf("%s retired", k.ID)
				}
			}
		}
		if !slices.Equal(ids, []string{"k3", "k2", "k1"}) {
			t.Errorf("Keys = %v, want newest first [k3 k2 k1]", ids)
		}
		k4 := &store.Key{ID: "k4", Alg: "ES256", Private: []byte{4}, CreatedAt: now.Add(3 * time.Second)}
		end := later.Add(2 * time.Hour)
		if _, err := s.RotateKeys(ctx, []*store.Key{k4}, end, end.Add(time.Hour), false); err != nil {
			t.Fatal(err)
		}
		keys, _ = s.Keys(ctx)
		ids = ids[:0]
		for _, k := range keys {
			ids = append(ids, k.ID)
		}
		if !slices.Equal(ids, []string{"k4", "k3", "k2"}) {
			t.Errorf("after expiry Keys = %v, want [k4 k3 k2] (k1 dropped)", ids)
		}
	})
}
