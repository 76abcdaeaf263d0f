package provider

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
	"github.com/tokengate/tokengate/internal/strictjson"
)

// clientKeySet names the members of a JWK Set and of its keys that go-jose
// reads (RFC 7517 §4 and §5, RFC 7518 §6, RFC 8037 §2). go-jose decodes
// them into structs with encoding/json, which would take "KTY" for "kty"
// and keep the last of two "x"; strictjson refuses a name that differs from
// one of these only in case, and any name twice, so the key the provider
// encrypts to is the one the document plainly says. Only the names matter
// here: go-jose reads the values.
type clientKeySet struct {
	Keys []struct {
		Kty    json.RawMessage `json:"kty"`
		Use    json.RawMessage `json:"use"`
		KeyOps json.RawMessage `json:"key_ops"`
		Alg    json.RawMessage `json:"alg"`
		Kid    json.RawMessage `json:"kid"`
		Crv    json.RawMessage `json:"crv"`
		X      json.RawMessage `json:"x"`
		Y      json.RawMessage `json:"y"`
		N      json.RawMessage `json:"n"`
		E      json.RawMessage `json:"e"`
		D      json.RawMessage `json:"d"`
		P      json.RawMessage `json:"p"`
		Q      json.RawMessage `json:"q"`
		DP     json.RawMessage `json:"dp"`
		DQ     json.RawMessage `json:"dq"`
		QI     json.RawMessage `json:"qi"`
		K      json.RawMessage `json:"k"`
		X5C    json.RawMessage `json:"x5c"`
		X5U    json.RawMessage `json:"x5u"`
		X5T    json.RawMessage `json:"x5t"`
		X5T256 json.RawMessage `json:"x5t#S256"`
	} `json:"keys"`
}

// encryptionKey picks the first key of the JWK Set that can be used with
// the JWE key management algorithm alg. The set comes from a client's
// registration or its jwks_uri: a document with a member named twice, or a
// member whose name matches a JWK member only when case is ignored, is
// refused (see clientKeySet).
func encryptionKey(set []byte, alg string) (*jose.JSONWebKey, error) {
	var names clientKeySet
	if err := strictjson.Unmarshal(set, &names); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	var ks jose.JSONWebKeySet
	if err := json.Unmarshal(set, &ks); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	for i := range ks.Keys {
		k := &ks.Keys[i]
		if (k.Use != "" && k.Use != "enc") || (k.Algorithm != "" && k.Algorithm != alg) || !k.IsPublic() || !k.Valid() {
			continue
		}
		switch k.Key.(type) {
		case *rsa.PublicKey:
			if alg == "RSA-OAEP" || alg == "RSA-OAEP-256" {
				return k, nil
			}
		case *ecdsa.PublicKey:
			if alg == "ECDH-ES" || alg == "ECDH-ES+A128KW" || alg == "ECDH-ES+A256KW" {
				return k, nil
			}
		}
	}
	return nil, errors.New("no public encryption key in the set fits " + alg)
}
