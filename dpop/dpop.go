package dpop

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/internal/strictjson"
)

// DefaultAlgorithms are the JWS algorithms accepted when
// [Config.Algorithms] is empty.
var DefaultAlgorithms = []string{"ES256", "RS256", "PS256", "EdDSA"}

// supportedAlgorithms are the asymmetric algorithms Config.Algorithms may
// name. "none" and the HMAC algorithms are absent on purpose: a proof must be
// signed with the private key of its own jwk.
var supportedAlgorithms = []string{
	"ES256", "ES384", "ES512",
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"EdDSA",
}

// DefaultIATWindow is [Config.IATWindow] when zero.
const DefaultIATWindow = 60 * time.Second

// DefaultMaxProofBytes is [Config.MaxProofBytes] when zero. A proof signed
// with a 4096-bit RSA key is about 2 KiB.
const DefaultMaxProofBytes = 8 << 10

// DefaultMaxReplayEntries is [Config.MaxReplayEntries] when zero: about
// 10 MiB of memory at most.
const DefaultMaxReplayEntries = 1 << 17

// maxJTILength bounds the jti claim; RFC 9449 asks for 96 bits of
// randomness, a few dozen characters.
const maxJTILength = 256

// Config configures a [Verifier]. The zero value is usable.
type Config struct {
	// Algorithms lists the accepted JWS "alg" values. Defaults to
	// [DefaultAlgorithms]. Only asymmetric algorithms (ES256/384/512,
	// RS256/384/512, PS256/384/512, EdDSA) may be listed; "none" or an
	// HMAC algorithm is an error.
	Algorithms []string
	// IATWindow is how far a proof's iat may be from now, in the past or
	// the future (clock skew), and so how long a proof stays usable.
	// Defaults to [DefaultIATWindow]; negative is an error.
	IATWindow time.Duration
	// MaxProofBytes bounds the length of a proof. Defaults to
	// [DefaultMaxProofBytes]; negative is an error.
	MaxProofBytes int
	// MaxReplayEntries bounds how many proofs the replay cache remembers.
	// Entries leave once their proof is older than IATWindow; when the
	// cache is full of live entries, new proofs fail with
	// [ErrReplayCacheFull] rather than risk a replay. Defaults to
	// [DefaultMaxReplayEntries]; negative is an error.
	MaxReplayEntries int
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// Verifier checks DPoP proofs (RFC 9449 §4.3) and remembers the ones it
// accepted so that none is accepted twice. It is safe for concurrent use.
type Verifier struct {
	algs          []string
	joseAlgs      []jose.SignatureAlgorithm
	window        time.Duration
	maxProofBytes int
	now           func() time.Time
	replay        *replayCache
}

// New returns a Verifier for cfg, or an error naming the first invalid field.
func New(cfg Config) (*Verifier, error) {
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultAlgorithms
	}
	var joseAlgs []jose.SignatureAlgorithm
	for _, a := range cfg.Algorithms {
		if !slices.Contains(supportedAlgorithms, a) {
			return nil, fmt.Errorf("dpop: Config.Algorithms: %q is not an asymmetric JWS algorithm (supported: %s)", a, strings.Join(supportedAlgorithms, " "))
		}
		if !slices.Contains(joseAlgs, jose.SignatureAlgorithm(a)) {
			joseAlgs = append(joseAlgs, jose.SignatureAlgorithm(a))
		}
	}
	if cfg.IATWindow < 0 {
		return nil, fmt.Errorf("dpop: Config.IATWindow is negative (%v)", cfg.IATWindow)
	}
	if cfg.IATWindow == 0 {
		cfg.IATWindow = DefaultIATWindow
	}
	if cfg.MaxProofBytes < 0 {
		return nil, fmt.Errorf("dpop: Config.MaxProofBytes is negative (%d)", cfg.MaxProofBytes)
	}
	if cfg.MaxProofBytes == 0 {
		cfg.MaxProofBytes = DefaultMaxProofBytes
	}
	if cfg.MaxReplayEntries < 0 {
		return nil, fmt.Errorf("dpop: Config.MaxReplayEntries is negative (%d)", cfg.MaxReplayEntries)
	}
	if cfg.MaxReplayEntries == 0 {
		cfg.MaxReplayEntries = DefaultMaxReplayEntries
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	algs := make([]string, len(joseAlgs))
	for i, a := range joseAlgs {
		algs[i] = string(a)
	}
	return &Verifier{
		algs:          algs,
		joseAlgs:      joseAlgs,
		window:        cfg.IATWindow,
		maxProofBytes: cfg.MaxProofBytes,
		now:           cfg.Now,
		replay:        newReplayCache(cfg.MaxReplayEntries),
	}, nil
}

// Algorithms returns the accepted JWS algorithms, for the "algs" attribute
// of a DPoP challenge (RFC 9449 §7.1). The caller must not modify it.
func (v *Verifier) Algorithms() []string { return v.algs }

// ProofRequest is the request a proof must be for.
type ProofRequest struct {
	// Method is the HTTP method, compared with htm exactly.
	Method string
	// URL is the absolute URL of the request as the client addressed it
	// (behind a reverse proxy: the public one), compared with htu; its query
	// and fragment are ignored.
	URL string
	// AccessToken is the access token the request presents; the proof's ath
	// must be its hash. Required.
	AccessToken string
}

// FromHeader returns the one DPoP proof of a request's header, or an error
// matching [ErrMissingProof] when there is none or more than one.
func FromHeader(h http.Header) (string, error) {
	vals := h["Dpop"]
	if len(vals) != 1 {
		return "", fmt.Errorf("%w (found %d)", ErrMissingProof, len(vals))
	}
	return vals[0], nil
}

// header is the part of the protected header checked before go-jose
// parses it.
type header struct {
	Typ string      `json:"typ"`
	Alg string      `json:"alg"`
	JWK *jwkMembers `json:"jwk"`
}

// jwkMembers names every member of a JWK that go-jose reads (RFC 7517 §4,
// RFC 7518 §6, RFC 8037 §2), with "oth" besides. go-jose decodes a JWK into a
// struct, which would match "X" to "x" and keep the last of the two;
// strictjson refuses such a case variant, so the key checked here is the
// key go-jose verifies with. Only presence is recorded: go-jose reads the
// values.
type jwkMembers struct {
	Kty    present `json:"kty"`
	Use    present `json:"use"`
	Kid    present `json:"kid"`
	Alg    present `json:"alg"`
	Crv    present `json:"crv"`
	X      present `json:"x"`
	Y      present `json:"y"`
	N      present `json:"n"`
	E      present `json:"e"`
	Pub    present `json:"pub"`
	X5C    present `json:"x5c"`
	X5U    present `json:"x5u"`
	X5T    present `json:"x5t"`
	X5T256 present `json:"x5t#S256"`

	// Private or symmetric key material, which a proof's key never has.
	D    present `json:"d"`
	P    present `json:"p"`
	Q    present `json:"q"`
	DP   present `json:"dp"`
	DQ   present `json:"dq"`
	QI   present `json:"qi"`
	Oth  present `json:"oth"`
	K    present `json:"k"`
	Priv present `json:"priv"`
}

// present records that a member was there, whatever its value (null too).
type present bool

func (p *present) UnmarshalJSON([]byte) error {
	*p = true
	return nil
}

// private returns the name of a member carrying private or symmetric key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2), or "".
func (k *jwkMembers) private() string {
	for _, m := range []struct {
		name string
		in   present
	}{{"d", k.D}, {"p", k.P}, {"q", k.Q}, {"dp", k.DP}, {"dq", k.DQ}, {"qi", k.QI}, {"oth", k.Oth}, {"k", k.K}, {"priv", k.Priv}} {
		if m.in {
			return m.name
		}
	}
	return ""
}

// claims are the RFC 9449 §4.2 claims of a proof.
type claims struct {
	JTI *string         `json:"jti"`
	HTM *string         `json:"htm"`
	HTU *string         `json:"htu"`
	IAT json.RawMessage `json:"iat"`
	ATH *string         `json:"ath"`
}

// Verify checks proof for req, presented with an access token bound to the
// key whose RFC 7638 SHA-256 thumbprint is jkt (the base64url cnf.jkt from
// introspection), and records it so that it is not accepted again. Every
// error matches [ErrInvalidProof], except [ErrReplayCacheFull]. ctx is
// reserved for replay stores shared between instances.
func (v *Verifier) Verify(ctx context.Context, proof string, req ProofRequest, jkt string) error {
	_ = ctx
	if proof == "" {
		return fmt.Errorf("%w (empty)", ErrMissingProof)
	}
	if len(proof) > v.maxProofBytes {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidProof, v.maxProofBytes)
	}
	if req.AccessToken == "" {
		return fmt.Errorf("%w: no access token to bind the proof to", ErrTokenHash)
	}
	if jkt == "" {
		return fmt.Errorf("%w: the access token has no cnf.jkt", ErrKeyMismatch)
	}

	// The protected header, read strictly before go-jose parses it.
	encHeader, _, ok := strings.Cut(proof, ".")
	if !ok {
		return fmt.Errorf("%w: not a JWS in compact serialization", ErrInvalidProof)
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(encHeader)
	if err != nil {
		return fmt.Errorf("%w: header: %w", ErrInvalidProof, err)
	}
	// Exact member names, and none twice (RFC 7515 §5.2): go-jose parses
	// the header again and keeps the last of two, so a duplicate could mean
	// one thing here and another there.
	var h header
	if err := strictjson.Unmarshal(rawHeader, &h); err != nil {
		return fmt.Errorf("%w: header: %w", ErrInvalidProof, err)
	}
	if !strings.EqualFold(h.Typ, "dpop+jwt") {
		return fmt.Errorf("%w: typ is %q, not dpop+jwt", ErrInvalidProof, h.Typ)
	}
	if !slices.Contains(v.algs, h.Alg) {
		return fmt.Errorf("%w: alg %q is not accepted", ErrInvalidProof, h.Alg)
	}
	if h.JWK == nil {
		return fmt.Errorf("%w: no jwk header", ErrInvalidProof)
	}
	if m := h.JWK.private(); m != "" {
		return fmt.Errorf("%w: the jwk header carries private key material (%q)", ErrInvalidProof, m)
	}

	jws, err := jose.ParseSignedCompact(proof, v.joseAlgs)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidProof, err)
	}
	if len(jws.Signatures) != 1 {
		return fmt.Errorf("%w: not exactly one signature", ErrInvalidProof)
	}
	jwk := jws.Signatures[0].Protected.JSONWebKey
	if jwk == nil || !jwk.Valid() || !jwk.IsPublic() {
		return fmt.Errorf("%w: the jwk header is not a public key", ErrInvalidProof)
	}
	payload, err := jws.Verify(jwk.Key)
	if err != nil {
		return fmt.Errorf("%w: signature: %w", ErrInvalidProof, err)
	}

	var c claims
	if err := strictjson.Unmarshal(payload, &c); err != nil {
		return fmt.Errorf("%w: claims: %w", ErrInvalidProof, err)
	}
	if c.JTI == nil || *c.JTI == "" || len(*c.JTI) > maxJTILength {
		return fmt.Errorf("%w: jti is missing, empty or too long", ErrInvalidProof)
	}
	if c.HTM == nil || *c.HTM != req.Method {
		return fmt.Errorf("%w: htm is not %q", ErrRequestMismatch, req.Method)
	}
	if c.HTU == nil {
		return fmt.Errorf("%w: htu is missing", ErrRequestMismatch)
	}
	target, err := normalizeURL(req.URL)
	if err != nil {
		return fmt.Errorf("%w: the request URL: %w", ErrRequestMismatch, err)
	}
	htu, err := normalizeURL(*c.HTU)
	if err != nil {
		return fmt.Errorf("%w: htu: %w", ErrRequestMismatch, err)
	}
	if htu != target {
		return fmt.Errorf("%w: htu is not %q", ErrRequestMismatch, target)
	}
	if c.IAT == nil {
		return fmt.Errorf("%w: iat is missing", ErrProofTime)
	}
	iat, err := numericDate(c.IAT)
	if err != nil {
		return fmt.Errorf("%w: iat: %w", ErrProofTime, err)
	}
	now := v.now()
	if iat.Before(now.Add(-v.window)) || iat.After(now.Add(v.window)) {
		return fmt.Errorf("%w: iat is %v, now is %v", ErrProofTime, iat.UTC(), now.UTC())
	}
	if c.ATH == nil {
		return fmt.Errorf("%w: ath is missing", ErrTokenHash)
	}
	sum := sha256.Sum256([]byte(req.AccessToken))
	if subtle.ConstantTimeCompare([]byte(*c.ATH), []byte(base64.RawURLEncoding.EncodeToString(sum[:]))) != 1 {
		return ErrTokenHash
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return fmt.Errorf("%w: thumbprint: %w", ErrInvalidProof, err)
	}
	if subtle.ConstantTimeCompare([]byte(jkt), []byte(base64.RawURLEncoding.EncodeToString(tp))) != 1 {
		return ErrKeyMismatch
	}

	// Only a proof that passed every check is remembered: a forged one must
	// not be able to take the jti of a genuine one.
	key := replayKey(target, *c.JTI)
	return v.replay.add(key, iat.Add(v.window), now)
}

// replayKey identifies a proof in the replay cache: its jti in the context
// of its target URL (RFC 9449 §11.1), hashed so that entries have a fixed
// size whatever the client sends.
func replayKey(target, jti string) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(target))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// numericDate parses an RFC 7519 NumericDate, a JSON number that may have
// a fraction (not a string holding one).
func numericDate(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || raw[0] < '0' || raw[0] > '9' {
		return time.Time{}, errors.New("not a non-negative JSON number")
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return time.Time{}, err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return time.Time{}, fmt.Errorf("%v is out of range", f)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}
