package rs

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
)

// descCertificate is the one answer to a certificate-bound token whose
// certificate the request does not prove: no TLS, no client certificate,
// another certificate, or a [Config.ClientCertificate] error. RFC 8705 §3
// says the resource server MUST then reject with invalid_token.
const descCertificate = "the access token is bound to a client certificate that the request did not present"

// The causes of a rejected certificate-bound token, for logs and errors.Is.
var (
	errNoCertificate       = errors.New("rs: no client certificate")
	errCertificateMismatch = errors.New("rs: the client certificate does not match the token's cnf x5t#S256")
)

// defaultClientCertificate is [Config.ClientCertificate] when unset: the
// leaf certificate of a TLS connection to this server.
func defaultClientCertificate(r *http.Request) (*x509.Certificate, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, nil
	}
	return r.TLS.PeerCertificates[0], nil
}

// CertificateThumbprint returns the RFC 8705 §3.1 x5t#S256 of cert: the
// base64url encoding, without padding, of the SHA-256 of its DER bytes.
// It is what an authorization server puts in the cnf member of a token
// bound to cert.
func CertificateThumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// checkCertificate checks that the request's client certificate has the
// thumbprint x5t (RFC 8705 §3), compared in constant time; the comparison is
// of the encoded strings, so a padded or re-cased thumbprint does not match.
// The accepted thumbprint is not copied into the [Principal]: a field there
// would grow every principal, and so every bearer request; it stays in
// Principal.Response.Confirmation.
func (g *Guard) checkCertificate(pr presented, token, x5t string) error {
	cert, err := pr.certificate(g.cfg.ClientCertificate)
	switch {
	case err != nil:
	case cert == nil:
		err = errNoCertificate
	default:
		sum := sha256.Sum256(cert.Raw)
		var got [43]byte // base64.RawURLEncoding.EncodedLen(sha256.Size)
		base64.RawURLEncoding.Encode(got[:], sum[:])
		if subtle.ConstantTimeCompare(got[:], []byte(x5t)) == 1 {
			return nil
		}
		err = errCertificateMismatch
	}
	g.cfg.Logger.InfoContext(pr.ctx, "rs: certificate-bound token rejected", "token_sha256", tokenHash(token), "err", err)
	return newError(ErrInvalidToken, descCertificate, err).because("certificate")
}
