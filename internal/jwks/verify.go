package jwks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"

	"github.com/MicahParks/jwkset"
	"github.com/go-jose/go-jose/v4"
)

// MinRSABits is the smallest RSA modulus accepted for a signature
// (RFC 7518 §3.3).
const MinRSABits = 2048

// maxKeysTried bounds how many keys one signature is tried with, when the
// token names no kid.
const maxKeysTried = 8

// Errors of [Verify].
var (
	// ErrNoKeyFits means no candidate key may verify the algorithm.
	ErrNoKeyFits = errors.New("jwks: no key fits the algorithm")
	// ErrBadSignature means the keys that fit did not verify the signature.
	ErrBadSignature = errors.New("jwks: signature does not match")
)

// Verify checks jws, signed under alg, with the first of candidates that
// fits alg ([VerificationKey]) and verifies it, trying at most eight, and
// returns the payload.
func Verify(jws *jose.JSONWebSignature, alg string, candidates []jwkset.JWK) ([]byte, error) {
	tried := 0
	var unfit error
	for _, k := range candidates {
		key, err := VerificationKey(k, alg)
		if err != nil {
			unfit = err
			continue
		}
		if tried++; tried > maxKeysTried {
			break
		}
		if payload, err := jws.Verify(key); err == nil {
			return payload, nil
		}
	}
	switch {
	case tried > 0:
		return nil, ErrBadSignature
	case unfit != nil:
		return nil, fmt.Errorf("%w: %w", ErrNoKeyFits, unfit)
	}
	return nil, fmt.Errorf("%w: the set has no key for %s", ErrNoKeyFits, alg)
}

// VerificationKey returns the public key of k if it may verify alg: its
// use and alg members, when present, agree, and its type is the one alg is
// defined for (RSA of MinRSABits or more for RS* and PS*, the named curve
// for ES*, Ed25519 for EdDSA). So an issuer's keys draw the allowlist: a
// key marked RS256 never verifies PS256, and no key ever verifies HMAC.
func VerificationKey(k jwkset.JWK, alg string) (crypto.PublicKey, error) {
	m := k.Marshal()
	if m.USE != "" && m.USE != jwkset.UseSig {
		return nil, fmt.Errorf("key %.80q has use %q", m.KID, m.USE)
	}
	if m.ALG != "" && string(m.ALG) != alg {
		return nil, fmt.Errorf("key %.80q is for %s, not %s", m.KID, m.ALG, alg)
	}
	key := k.Key()
	if s, ok := key.(crypto.Signer); ok {
		key = s.Public()
	}
	ok := false
	switch pk := key.(type) {
	case *rsa.PublicKey:
		ok = (strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")) && pk.N.BitLen() >= MinRSABits
	case *ecdsa.PublicKey:
		ok = (alg == "ES256" && pk.Curve == elliptic.P256()) ||
			(alg == "ES384" && pk.Curve == elliptic.P384()) ||
			(alg == "ES512" && pk.Curve == elliptic.P521())
	case ed25519.PublicKey:
		ok = alg == "EdDSA"
	}
	if !ok {
		return nil, fmt.Errorf("key %.80q (%T) does not fit %s", m.KID, key, alg)
	}
	return key, nil
}
