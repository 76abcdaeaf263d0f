package revocationfeed_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/tokengate/tokengate/secevent"
)

// A fake transmitter that follows docs/revocation-events.md: metadata
// (RFC 8414), a JWK Set, and the poll endpoint (RFC 8936 with a cursor):
// one log of SETs, long polls held until a SET is appended or hold passes,
// client_secret_basic for orders-api.

const (
	testClientID = "orders-api"
	testSecret   = "s3cret"
	testKID      = "k1"
)

// testSeed makes the issuer's Ed25519 key: fixed, so that the test vectors
// are the same each time they are made.
var testSeed = []byte("tokengate revocation event tests")

type feed struct {
	t      testing.TB
	srv    *httptest.Server
	issuer string
	key    ed25519.PrivateKey
	hold   time.Duration

	mu      sync.Mutex // guards the fields below
	log     []string   // SETs in order; a cursor is an index into it
	wake    chan struct{}
	failing int // the next polls answered 503
	polls   []secevent.PollRequest
	setErrs map[string]secevent.SetError
	noMeta  bool // metadata without the endpoint
}

// waitPolls waits until the feed has received n polls.
func (f *feed) waitPolls(n int) {
	f.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		f.mu.Lock()
		got := len(f.polls)
		f.mu.Unlock()
		if got >= n {
			return
		}
	}
	f.t.Fatalf("waited 10s for %d polls", n)
}

func newFeed(t testing.TB) *feed {
	f := &feed{t: t, key: ed25519.NewKeyFromSeed(testSeed), hold: 2 * time.Second, wake: make(chan struct{}), setErrs: map[string]secevent.SetError{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		md := map[string]string{"issuer": f.issuer, "jwks_uri": f.issuer + "/jwks"}
		f.mu.Lock()
		if !f.noMeta {
			md[secevent.MetadataMember] = f.issuer + "/events"
		}
		f.mu.Unlock()
		writeJSON(w, 200, md)
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: f.key.Public(), KeyID: testKID, Algorithm: "EdDSA", Use: "sig"}}})
	})
	mux.HandleFunc("/events", f.serveEvents)
	f.srv = httptest.NewServer(mux)
	f.issuer = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *feed) serveEvents(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Accept") != "application/json" {
		f.t.Errorf("poll: %s with Content-Type %q, Accept %q", r.Method, r.Header.Get("Content-Type"), r.Header.Get("Accept"))
		writeJSON(w, 400, secevent.SetError{Err: secevent.ErrCodeInvalidRequest})
		return
	}
	if id, secret, ok := r.BasicAuth(); !ok || id != testClientID || secret != testSecret {
		w.Header().Set("WWW-Authenticate", `Basic realm="events"`)
		writeJSON(w, 401, secevent.SetError{Err: secevent.ErrCodeAuthentication})
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req secevent.PollRequest
	var members map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || json.Unmarshal(body, &members) != nil {
		f.t.Errorf("poll body: %v", err)
		writeJSON(w, 400, secevent.SetError{Err: secevent.ErrCodeInvalidRequest})
		return
	}
	f.mu.Lock()
	f.polls = append(f.polls, req)
	for jti, e := range req.SetErrs {
		f.setErrs[jti] = e
	}
	if f.failing > 0 {
		f.failing--
		f.mu.Unlock()
		w.Header().Set("Retry-After", "0")
		writeJSON(w, 503, secevent.SetError{Err: "temporarily_unavailable"})
		return
	}
	from, err := strconv.Atoi(req.Cursor)
	if err != nil || from > len(f.log) {
		from = 0 // a cursor we cannot place is as if absent
	}
	wake, empty := f.wake, from >= len(f.log)
	f.mu.Unlock()
	if !req.ReturnImmediately && empty { // hold only when there is nothing to send
		select {
		case <-wake:
		case <-time.After(f.hold):
		case <-r.Context().Done():
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	max := secevent.MaxEvents
	if req.MaxEvents > 0 {
		max = min(max, req.MaxEvents)
	}
	end := min(len(f.log), from+max)
	if string(members["maxEvents"]) == "0" { // RFC 8936: no SET wanted
		end = from
	}
	resp := secevent.PollResponse{Sets: map[string]string{}, MoreAvailable: end < len(f.log), Cursor: strconv.Itoa(end)}
	for _, set := range f.log[from:end] {
		resp.Sets[setID(set)] = set
	}
	writeJSON(w, 200, resp)
}

// setID is the jti of a SET, read without verifying (the feed made it).
func setID(set string) string {
	parts := strings.Split(set, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		ID string `json:"jti"`
	}
	json.Unmarshal(raw, &c)
	return c.ID
}

// publish appends SETs to the log and wakes the polls held.
func (f *feed) publish(sets ...string) {
	f.mu.Lock()
	f.log = append(f.log, sets...)
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
}

// revoke publishes the SET of a revoked token.
func (f *feed) revoke(token, tokenJTI string, tokenExp, now time.Time) string {
	set := f.sign(header{}, f.claims(token, tokenJTI, tokenExp, now))
	f.publish(set)
	return setID(set)
}

var jtiCounter struct {
	mu sync.Mutex
	n  int
}

// claims are those of a valid SET about token.
func (f *feed) claims(token, tokenJTI string, tokenExp, iat time.Time) map[string]any {
	jtiCounter.mu.Lock()
	jtiCounter.n++
	n := jtiCounter.n
	jtiCounter.mu.Unlock()
	ev := map[string]any{"token_sha256": secevent.TokenHash(token), "token_exp": tokenExp.Unix(), "reason": secevent.ReasonRevoked}
	if tokenJTI != "" {
		ev["token_jti"] = tokenJTI
	}
	return map[string]any{
		"iss": f.issuer, "aud": testClientID, "iat": iat.Unix(), "jti": fmt.Sprintf("set-%04d", n), "toe": iat.Unix(),
		"events": map[string]any{secevent.TokenRevoked: ev},
	}
}

// header says how to sign: the zero value signs as the spec says.
type header struct {
	typ    string             // "" for secevent+jwt
	alg    string             // "none" for an unsigned JWT
	key    ed25519.PrivateKey // another key than the issuer's
	noType bool
}

func (f *feed) sign(h header, claims map[string]any) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		f.t.Fatal(err)
	}
	typ := h.typ
	if typ == "" {
		typ = secevent.Type
	}
	if h.alg == "none" {
		hdr, _ := json.Marshal(map[string]string{"alg": "none", "typ": typ})
		return base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
	}
	key := f.key
	if h.key != nil {
		key = h.key
	}
	opts := (&jose.SignerOptions{}).WithHeader("kid", testKID)
	if !h.noType {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key}, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func sum(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }
