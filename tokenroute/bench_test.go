package tokenroute_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/jwtaccess"
	"github.com/tokengate/tokengate/tokenroute"
)

const benchAudience = "https://api.example.com"

// jwtStack is what a resource server accepting JWT and opaque tokens runs:
// the verdict cache above a router, above a local JWT validator and an
// opaque introspector (a fake answering at once, so that only the layers'
// own cost shows).
func jwtStack(b *testing.B, size int) (*introspect.Cache, func(sub string) string) {
	b.Helper()
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k"}}})
	now := time.Now()
	local, err := jwtaccess.New(jwtaccess.Config{Issuer: issA, Audiences: []string{benchAudience}, JWKS: set, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	router, err := tokenroute.New(tokenroute.Config{Issuers: []tokenroute.Issuer{{Issuer: issA, JWT: local, Opaque: opaqueAS{exp: now.Add(time.Hour)}}}})
	if err != nil {
		b.Fatal(err)
	}
	cache, err := introspect.NewCache(router, introspect.CacheConfig{Size: size})
	if err != nil {
		b.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: key, KeyID: "k"}}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		b.Fatal(err)
	}
	mint := func(sub string) string {
		// A typical RFC 9068 token: the claims of §2.2 and a few more.
		payload, _ := json.Marshal(map[string]any{
			"iss": issA, "sub": sub, "aud": benchAudience, "client_id": "shop", "scope": "orders:read orders:write",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "jti-" + sub, "auth_time": now.Unix(), "acr": "1",
		})
		jws, err := signer.Sign(payload)
		if err != nil {
			b.Fatal(err)
		}
		tok, _ := jws.CompactSerialize()
		return tok
	}
	return cache, mint
}

// BenchmarkCacheHit is a repeated token through the verdict cache above
// the router: a JWT (validated locally once) and an opaque token
// (introspected once) cost the same.
func BenchmarkCacheHit(b *testing.B) {
	cache, mint := jwtStack(b, 0)
	ctx := context.Background()
	for name, tok := range map[string]string{"jwt": mint("alice"), "opaque": "tg_at_opaque"} {
		if _, err := cache.Introspect(ctx, tok); err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cache.Introspect(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCacheMemoryPerJWTVerdict holds 100,000 JWT verdicts (claims of a
// typical RFC 9068 token, two of them kept as extras) in the verdict cache
// and reports the heap they take, per verdict; the tokens themselves are
// not counted. Run it with -benchtime 1x.
func BenchmarkCacheMemoryPerJWTVerdict(b *testing.B) {
	const entries = 100_000
	for b.Loop() {
		b.StopTimer()
		cache, mint := jwtStack(b, 2*entries)
		tokens := make([]string, entries)
		for i := range tokens {
			tokens[i] = mint(fmt.Sprintf("user-%d", i))
		}
		before := heapInUse()
		b.StartTimer()
		for _, tok := range tokens {
			if _, err := cache.Introspect(context.Background(), tok); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		after := heapInUse()
		b.ReportMetric(float64(after-before)/entries, "B/verdict")
		runtime.KeepAlive(cache)
		runtime.KeepAlive(tokens)
		b.StartTimer()
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// opaqueAS answers every opaque token as active until exp, at once.
type opaqueAS struct{ exp time.Time }

func (o opaqueAS) Introspect(context.Context, string) (*introspect.Response, error) {
	return &introspect.Response{Active: true, Subject: "bob", Scope: "orders:read", Audience: []string{benchAudience}, Expiry: o.exp}, nil
}
