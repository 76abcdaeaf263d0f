// Package dpoptest signs DPoP proofs (RFC 9449 §4.2) for tests of resource
// servers that verify them with package dpop, including deliberately broken
// proofs. It is NOT suitable outside tests: keys are generated on the fly
// and errors panic.
package dpoptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Key is a client's DPoP key pair.
type Key struct {
	alg  string
	priv crypto.Signer
}

// NewKey generates a key for alg: "ES256" (P-256), "EdDSA" (Ed25519),
// "RS256" or "PS256" (RSA 2048). It panics for any other alg.
func NewKey(alg string) *Key {
	var priv crypto.Signer
	var err error
	switch alg {
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "RS256", "PS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		panic("dpoptest: unsupported alg " + alg)
	}
	if err != nil {
		panic(err)
	}
	return &Key{alg: alg, priv: priv}
}

// Alg returns the key's JWS algorithm.
func (k *Key) Alg() string { return k.alg }

// PublicJWK returns the public key as a JWK object.
func (k *Key) PublicJWK() map[string]any { return jwkMap(jose.JSONWebKey{Key: k.priv.Public()}) }

// PrivateJWK returns the key pair as a JWK object with its private members,
// for forging proofs that leak them.
func (k *Key) PrivateJWK() map[string]any { return jwkMap(jose.JSONWebKey{Key: k.priv}) }

// JKT returns the RFC 7638 SHA-256 thumbprint of the public key, base64url
// encoded: the cnf.jkt of tokens bound to this key.
func (k *Key) JKT() string {
	jwk := jose.JSONWebKey{Key: k.priv.Public()}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// Header returns a valid proof header: typ dpop+jwt, the key's alg and
// public jwk.
func (k *Key) Header() map[string]any {
	return map[string]any{"typ": "dpop+jwt", "alg": k.alg, "jwk": k.PublicJWK()}
}

// Claims returns valid proof claims for a request with method and url
// presenting accessToken, issued at iat, with a random jti.
func (k *Key) Claims(method, url, accessToken string, iat time.Time) map[string]any {
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	return map[string]any{
		"jti": base64.RawURLEncoding.EncodeToString(jti),
		"htm": method,
		"htu": url,
		"iat": iat.Unix(),
		"ath": ATH(accessToken),
	}
}

// Proof returns a valid proof for a request with method and url presenting
// accessToken, issued at iat.
func (k *Key) Proof(method, url, accessToken string, iat time.Time) string {
	return k.Sign(k.Header(), k.Claims(method, url, accessToken, iat))
}

// Sign returns the JWS compact serialization of header and claims, signed
// with the key under its own alg, whatever header says.
func (k *Key) Sign(header, claims map[string]any) string {
	input := encode(header) + "." + encode(claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(k.signature([]byte(input)))
}

// SignRaw returns the JWS compact serialization of header and claims given
// as JSON texts, used as they are: they may hold what a map cannot, such as
// a member name twice, as a hostile client would send.
func (k *Key) SignRaw(header, claims string) string {
	input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))
	return input + "." + base64.RawURLEncoding.EncodeToString(k.signature([]byte(input)))
}

func (k *Key) signature(input []byte) []byte {
	sum := sha256.Sum256(input)
	switch key := k.priv.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
		if err != nil {
			panic(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	case ed25519.PrivateKey:
		return ed25519.Sign(key, input)
	case *rsa.PrivateKey:
		var sig []byte
		var err error
		if k.alg == "PS256" {
			sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		}
		if err != nil {
			panic(err)
		}
		return sig
	}
	panic(fmt.Sprintf("dpoptest: key type %T", k.priv))
}

// Unsigned returns header and claims with an empty signature, as an
// "alg":"none" JWS is sent.
func Unsigned(header, claims map[string]any) string {
	return encode(header) + "." + encode(claims) + "."
}

// HMAC returns header and claims signed with HMAC-SHA256 under secret, as
// an attacker trying algorithm confusion would.
func HMAC(header, claims map[string]any, secret []byte) string {
	input := encode(header) + "." + encode(claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ATH returns the ath claim for accessToken: base64url(SHA-256(token)).
func ATH(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func jwkMap(jwk jose.JSONWebKey) map[string]any {
	b, err := jwk.MarshalJSON()
	if err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}
