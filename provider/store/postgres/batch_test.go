package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/testserver"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/store/postgres"
)

// TestTokenReadsInBatches: 64 readers at once, asking for 100 tokens, some
// twice at once, and for unknown ones: each gets its own token (its hash,
// its jti), or ErrNotFound, never another's; what one caller changes in
// its token no other sees; and the reads were answered in fewer queries
// than reads.
func TestTokenReadsInBatches(t *testing.T) {
	ctx := context.Background()
	s := open(t, testserver.SharedPostgres(t))
	if err := s.CreateClient(ctx, &store.Client{ID: "c", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := range 100 {
		if err := s.SaveToken(ctx, &store.Token{Hash: store.Hash(fmt.Sprint("t", i)), ClientID: "c", JWTID: fmt.Sprint(i),
			GrantID: fmt.Sprint(i), Audience: []string{"https://api.example/"}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	var wrong atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 50 {
				i := rand.IntN(120) // 100..119 are unknown
				tok, err := s.Token(ctx, store.Hash(fmt.Sprint("t", i)))
				switch {
				case i >= 100:
					if !errors.Is(err, store.ErrNotFound) {
						wrong.Add(1)
						t.Errorf("unknown token %d: %v, %v; want ErrNotFound", i, tok, err)
					}
				case err != nil:
					wrong.Add(1)
					t.Errorf("token %d: %v", i, err)
				case string(tok.Hash) != string(store.Hash(fmt.Sprint("t", i))) || tok.JWTID != fmt.Sprint(i) ||
					len(tok.Audience) != 1 || tok.Audience[0] != "https://api.example/":
					wrong.Add(1)
					t.Errorf("asked for token %d, got jti %s audience %v", i, tok.JWTID, tok.Audience)
				default:
					tok.Audience[0] = "mutated" // must not reach another caller
				}
				if wrong.Load() > 5 {
					return
				}
			}
		})
	}
	wg.Wait()
	reads, queries := postgres.TokenQueries(s)
	t.Logf("%d reads in %d queries", reads, queries)
	if reads != 64*50 || queries >= reads {
		t.Errorf("%d reads in %d queries; want 3200 reads in fewer queries", reads, queries)
	}
}

// TestRevokedSeenUnderLoad: while 32 readers keep the batches full, a
// token whose grant was revoked reads as revoked by the very next read,
// 50 times over.
func TestRevokedSeenUnderLoad(t *testing.T) {
	ctx := context.Background()
	s := open(t, testserver.SharedPostgres(t))
	if err := s.CreateClient(ctx, &store.Client{ID: "c", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	save := func(v string) []byte {
		h := store.Hash(v)
		if err := s.SaveToken(ctx, &store.Token{Hash: h, ClientID: "c", GrantID: v, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		return h
	}
	busy := save("busy")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Token(ctx, busy); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 50 {
		v := fmt.Sprint("revoked-", i)
		h := save(v)
		if tok, err := s.Token(ctx, h); err != nil || tok.Revoked {
			t.Fatalf("before RevokeGrant: %v, %v", tok, err)
		}
		if _, err := s.RevokeGrant(ctx, v, "revoked"); err != nil {
			t.Fatal(err)
		}
		if tok, err := s.Token(ctx, h); err != nil || !tok.Revoked {
			t.Fatalf("the read after RevokeGrant returned: %+v, %v; want revoked", tok, err)
		}
	}
	close(stop)
	wg.Wait()
}
