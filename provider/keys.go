package provider

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/tokengate/tokengate/provider/store"
)

// Key families, named by the JWS algorithm each key signs with by default.
// An RSA key also signs PS256.
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
	AlgEdDSA = "EdDSA"
)

// family maps a JWS algorithm to the key family that signs it.
func family(alg string) string {
	switch alg {
	case "RS256", "PS256":
		return AlgRS256
	case "ES256":
		return AlgES256
	case "EdDSA":
		return AlgEdDSA
	}
	return ""
}

type signingKey struct {
	id   string
	priv crypto.Signer
}

// keyring caches the signing keys read from the store.
type keyring struct {
	// mu guards the fields below.
	mu       sync.Mutex
	loadedAt time.Time
	active   map[string]*signingKey // by family
	jwks     []byte
}

func generateKey(fam string, now time.Time) (*store.Key, error) {
	var priv crypto.Signer
	var err error
	switch fam {
	case AlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgEdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("provider: unknown key algorithm %q", fam)
	}
	if err != nil {
		return nil, fmt.Errorf("provider: generating %s key: %w", fam, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("provider: encoding %s key: %w", fam, err)
	}
	return &store.Key{ID: randomString(12), Alg: fam, Private: der, CreatedAt: now}, nil
}

// reloadKeys reads the keys from the store and rebuilds the JWK Set.
func (p *Provider) reloadKeys(ctx context.Context) error {
	keys, err := p.cfg.Store.Keys(ctx)
	if err != nil {
		return fmt.Errorf("provider: reading keys: %w", err)
	}
	now := p.now()
	active := make(map[string]*signingKey)
	var set jose.JSONWebKeySet
	for _, k := range keys { // newest first
		if !k.Active() && k.NotAfter.Before(now) {
			continue
		}
		parsed, err := x509.ParsePKCS8PrivateKey(k.Private)
		if err != nil {
			return fmt.Errorf("provider: key %s: %w", k.ID, err)
		}
		signer, ok := parsed.(crypto.Signer)
		if !ok {
			return fmt.Errorf("provider: key %s is not a signing key", k.ID)
		}
		if k.Active() && active[k.Alg] == nil {
			active[k.Alg] = &signingKey{id: k.ID, priv: signer}
		}
		jwk := jose.JSONWebKey{Key: signer.Public(), KeyID: k.ID, Use: "sig"}
		if k.Alg != AlgRS256 { // an RSA key signs both RS256 and PS256
			jwk.Algorithm = k.Alg
		}
		set.Keys = append(set.Keys, jwk)
	}
	b, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("provider: encoding JWK Set: %w", err)
	}
	p.keys.mu.Lock()
	p.keys.active, p.keys.jwks, p.keys.loadedAt = active, b, now
	p.keys.mu.Unlock()
	return nil
}

// currentKeys returns the active keys and the JWK Set, re-reading them from
// the store when they are older than KeyRefreshInterval (another process may
// have rotated them). One caller re-reads while the others go on with the
// keys they have; if the store fails, those keys stay in use until the next
// attempt, KeyRefreshInterval later. New has loaded them once, so there are
// always some.
func (p *Provider) currentKeys(ctx context.Context) (map[string]*signingKey, []byte) {
	now := p.now()
	p.keys.mu.Lock()
	stale := now.Sub(p.keys.loadedAt) >= p.cfg.KeyRefreshInterval
	if stale {
		p.keys.loadedAt = now // claimed: concurrent callers do not re-read too
	}
	active, jwks := p.keys.active, p.keys.jwks
	p.keys.mu.Unlock()
	if !stale {
		return active, jwks
	}
	if err := p.reloadKeys(ctx); err != nil {
		p.cfg.Logger.Warn("provider: reloading keys failed; serving the keys in memory", "err", err)
		return active, jwks
	}
	p.keys.mu.Lock()
	defer p.keys.mu.Unlock()
	return p.keys.active, p.keys.jwks
}

// sign signs payload as a compact JWS with alg and the JOSE header typ.
func (p *Provider) sign(ctx context.Context, alg, typ string, payload []byte) (string, error) {
	active, _ := p.currentKeys(ctx)
	k := active[family(alg)]
	if k == nil {
		return "", fmt.Errorf("provider: no active key for %s", alg)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: k.priv, KeyID: k.id}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", fmt.Errorf("provider: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("provider: signing: %w", err)
	}
	return jws.CompactSerialize()
}

// signingAlgs lists the JWS algorithms that keys of the families fams sign.
func signingAlgs(fams []string) []string {
	var out []string
	for _, fam := range fams {
		out = append(out, fam)
		if fam == AlgRS256 {
			out = append(out, "PS256")
		}
	}
	return out
}
