package jwtintrospect

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"

	"github.com/go-jose/go-jose/v4"
)

// maxKeyFileBytes caps what LoadKey reads.
const maxKeyFileBytes = 64 << 10

// minRSABits is the smallest RSA modulus accepted, for decryption and for
// signatures alike (RFC 7518 §3.3, §4.2).
const minRSABits = 2048

// Key is one of the resource server's private keys, used to decrypt
// encrypted responses. [LoadKey] and [ParseKey] make one from a PEM or JWK
// file.
type Key struct {
	// KeyID is the "kid" the authorization server puts in the JWE header to
	// say which key it encrypted to. Keys read from PEM get the RFC 7638
	// thumbprint of their public key.
	KeyID string
	// Algorithm, if set, is the only JWE "alg" this key may be used with, and
	// is published in the JWK Set. The zero value allows every algorithm in
	// Config.KeyAlgorithms that fits the key type.
	Algorithm string
	// PrivateKey is an *rsa.PrivateKey (2048 bits or more) or an
	// *ecdsa.PrivateKey on P-256, P-384 or P-521.
	PrivateKey crypto.PrivateKey
}

// LoadKey reads a private key from a PEM file (PKCS #8, PKCS #1 or SEC 1) or
// a JWK file, as [ParseKey] does.
func LoadKey(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("jwtintrospect: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jwtintrospect: %s: %w", path, err)
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("jwtintrospect: %s is larger than %d bytes; not a key file", path, maxKeyFileBytes)
	}
	k, err := ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return k, nil
}

// ParseKey parses a private RSA or EC key from PEM ("PRIVATE KEY", "RSA
// PRIVATE KEY" or "EC PRIVATE KEY") or from a JWK JSON object carrying its
// private members. A JWK's "kid" and "alg" are kept; a key without a kid
// gets its RFC 7638 thumbprint. Public keys, Ed25519 keys (which sign but
// cannot decrypt), encrypted PEM and RSA keys under 2048 bits are refused.
func ParseKey(data []byte) (*Key, error) {
	trimmed := bytes.TrimSpace(data)
	var k *Key
	switch {
	case bytes.HasPrefix(trimmed, []byte("{")):
		var jwk jose.JSONWebKey
		if err := json.Unmarshal(trimmed, &jwk); err != nil {
			return nil, fmt.Errorf("jwtintrospect: not a JWK: %w", err)
		}
		if jwk.IsPublic() {
			return nil, errors.New("jwtintrospect: the JWK is a public key; the private key (with \"d\") is needed to decrypt")
		}
		if jwk.Use != "" && jwk.Use != "enc" {
			return nil, fmt.Errorf("jwtintrospect: the JWK has \"use\": %q; a decryption key needs \"enc\" or no use", jwk.Use)
		}
		k = &Key{KeyID: jwk.KeyID, Algorithm: jwk.Algorithm, PrivateKey: jwk.Key}
	default:
		block, _ := pem.Decode(trimmed)
		if block == nil {
			return nil, errors.New("jwtintrospect: neither PEM nor a JWK")
		}
		var priv any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			priv, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			priv, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			priv, err = x509.ParseECPrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("jwtintrospect: the PEM key is encrypted; decrypt it first (openssl pkey -in key.pem -out plain.pem)")
		default:
			return nil, fmt.Errorf("jwtintrospect: PEM block %q is not a private key", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("jwtintrospect: PEM %s: %w", block.Type, err)
		}
		k = &Key{PrivateKey: priv}
	}
	if err := k.check(); err != nil {
		return nil, err
	}
	if k.KeyID == "" {
		kid, err := thumbprint(k.PrivateKey)
		if err != nil {
			return nil, err
		}
		k.KeyID = kid
	}
	return k, nil
}

// check reports whether the key can decrypt, with an error saying what to
// fix if not.
func (k *Key) check() error {
	switch p := k.PrivateKey.(type) {
	case *rsa.PrivateKey:
		if p.N.BitLen() < minRSABits {
			return fmt.Errorf("jwtintrospect: RSA key of %d bits; at least %d are needed", p.N.BitLen(), minRSABits)
		}
	case *ecdsa.PrivateKey:
		switch p.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return errors.New("jwtintrospect: EC key on an unsupported curve; use P-256, P-384 or P-521")
		}
	case ed25519.PrivateKey, *ed25519.PrivateKey:
		return errors.New("jwtintrospect: Ed25519 keys sign but cannot decrypt; use an RSA (2048+) or EC P-256 key")
	case nil:
		return errors.New("jwtintrospect: Key.PrivateKey is nil")
	default:
		return fmt.Errorf("jwtintrospect: unsupported private key type %T; use *rsa.PrivateKey or *ecdsa.PrivateKey", p)
	}
	if k.Algorithm != "" && !k.fits(k.Algorithm) {
		return fmt.Errorf("jwtintrospect: key %q has algorithm %q, which does not fit a %s key", k.KeyID, k.Algorithm, keyType(k.PrivateKey))
	}
	return nil
}

// fits reports whether the key can be used with the JWE algorithm alg.
func (k *Key) fits(alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	switch k.PrivateKey.(type) {
	case *rsa.PrivateKey:
		return slices.Contains(rsaKeyAlgorithms, alg)
	case *ecdsa.PrivateKey:
		return slices.Contains(ecKeyAlgorithms, alg)
	}
	return false
}

func keyType(k crypto.PrivateKey) string {
	switch k.(type) {
	case *rsa.PrivateKey:
		return "RSA"
	case *ecdsa.PrivateKey:
		return "EC"
	}
	return fmt.Sprintf("%T", k)
}

func publicOf(k crypto.PrivateKey) crypto.PublicKey {
	if s, ok := k.(crypto.Signer); ok {
		return s.Public()
	}
	return nil
}

func thumbprint(priv crypto.PrivateKey) (string, error) {
	jwk := jose.JSONWebKey{Key: publicOf(priv)}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("jwtintrospect: computing the key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// publicJWKS renders the public halves of keys as a JWK Set with "use":
// "enc". A key's "alg" is its Algorithm or, when exactly one of algs fits it,
// that one; otherwise "alg" is left out and the authorization server may use
// any algorithm for the key type.
func publicJWKS(keys []*Key, algs []string) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range keys {
		alg := k.Algorithm
		if alg == "" {
			var fitting []string
			for _, a := range algs {
				if k.fits(a) {
					fitting = append(fitting, a)
				}
			}
			if len(fitting) == 1 {
				alg = fitting[0]
			}
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key:       publicOf(k.PrivateKey),
			KeyID:     k.KeyID,
			Algorithm: alg,
			Use:       "enc",
		})
	}
	return json.Marshal(set)
}

// JWKSHandler returns a handler that serves the public halves of
// Config.DecryptionKeys as a JWK Set ("use": "enc"), for the authorization
// server to fetch as the resource server's jwks_uri, conventionally at
// /.well-known/jwks.json. It answers GET and HEAD; with no decryption keys
// it serves an empty set.
func (d *Decoder) JWKSHandler() http.Handler {
	body := d.jwksJSON
	if body == nil {
		body = []byte(`{"keys":[]}`)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodGet {
			w.Write(body)
		}
	})
}
