package providertest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Endpoint names one of the provider's endpoints, for [Fault] and
// [Server.Calls]. The zero value is EndpointIntrospection.
type Endpoint int

// The provider's endpoints.
const (
	// EndpointIntrospection is the RFC 7662 introspection endpoint.
	EndpointIntrospection Endpoint = iota
	// EndpointToken is the token endpoint.
	EndpointToken
	// EndpointRevocation is the RFC 7009 revocation endpoint.
	EndpointRevocation
	// EndpointJWKS is the JWK Set at the jwks_uri.
	EndpointJWKS
	// EndpointMetadata is the RFC 8414 (and OpenID Connect discovery)
	// metadata, at any of the paths it is served at.
	EndpointMetadata

	numEndpoints
)

// String returns the endpoint's name, such as "introspection".
func (e Endpoint) String() string {
	switch e {
	case EndpointIntrospection:
		return "introspection"
	case EndpointToken:
		return "token"
	case EndpointRevocation:
		return "revocation"
	case EndpointJWKS:
		return "jwks"
	case EndpointMetadata:
		return "metadata"
	}
	return "Endpoint(" + strconv.Itoa(int(e)) + ")"
}

// Fault is a misbehaviour of one endpoint, injected with [Server.Fail]. The
// zero Fault changes nothing; each field adds one symptom:
//
//	Fault{Status: 503, RetryAfter: 2 * time.Second}  // down, and says when to come back
//	Fault{Status: 429, RetryAfter: time.Second}      // rate limited
//	Fault{Status: 503, Times: 2}                     // down for two requests
//	Fault{Delay: 300 * time.Millisecond}             // slow, then a correct answer
//	Fault{Hang: true}                                // answers only after Heal
//	Fault{Drop: true}                                // closes the connection
//	Fault{Status: 200, Body: "<html>Sign in</html>"} // a login page instead of JSON
//	Fault{ContentType: "text/plain"}                 // the right JSON, wrongly labelled
//	Fault{Endpoint: EndpointToken, Status: 500}      // the token endpoint fails
//
// Mind the client's retries: an introspect.Client retries network errors
// and 502, 503 and 504 answers (twice by default, after the Retry-After if
// there is one), so each of its calls may meet a fault up to three times
// and wait in between. A test of one answer at a time sets
// introspect.ResilienceConfig.MaxRetries to -1; a 429 is never retried.
type Fault struct {
	// Endpoint is where the fault happens. The zero value is
	// EndpointIntrospection.
	Endpoint Endpoint

	// Status, if not zero, is the status of the answer, sent instead of
	// the provider's. A status of 400 or more without Body comes with an
	// RFC 6749 §5.2 JSON error, as a real authorization server would send:
	// temporarily_unavailable for 429 and 503, invalid_client for 401,
	// server_error for other 5xx and invalid_request for other 4xx. Any
	// other status without Body has an empty body. It must be between 200
	// and 599.
	Status int
	// Body, if not empty, is the answer's body, sent instead of the
	// provider's, with Status (200 if zero).
	Body string
	// ContentType, if not empty, is the Content-Type of the answer, the
	// provider's or the fault's. The zero value keeps the provider's, or for
	// Body lets net/http detect it (text/html for HTML).
	ContentType string
	// RetryAfter, if not zero, is sent as a Retry-After header, in seconds
	// rounded up.
	RetryAfter time.Duration

	// Delay, if not zero, is how long the request waits before it is
	// answered (by the provider, or as Status or Body say). A request whose
	// client hangs up meanwhile is dropped.
	Delay time.Duration
	// Hang holds each request until its client hangs up (its context is
	// cancelled, for example by a client timeout) or [Server.Heal] is
	// called, when the provider answers it. It cannot be combined with
	// Status, Body, ContentType, RetryAfter, Delay or Drop.
	Hang bool
	// Drop closes the connection without answering, so the client sees a
	// network error. It cannot be combined with Status, Body, ContentType
	// or RetryAfter.
	Drop bool

	// Times is how many requests the fault affects; then the endpoint
	// behaves again. The zero value means every request until
	// [Server.Heal] or the next [Server.Fail] for the endpoint.
	Times int
}

// validate returns what is wrong with f, or "".
func (f Fault) validate() string {
	switch {
	case f.Endpoint < 0 || f.Endpoint >= numEndpoints:
		return fmt.Sprintf("Fault.Endpoint %d is not an Endpoint", int(f.Endpoint))
	case f.Status != 0 && (f.Status < 200 || f.Status > 599):
		return fmt.Sprintf("Fault.Status %d is not between 200 and 599", f.Status)
	case f.RetryAfter < 0 || f.Delay < 0 || f.Times < 0:
		return "Fault.RetryAfter, Delay and Times must not be negative"
	case f.Hang && (f.Status != 0 || f.Body != "" || f.ContentType != "" || f.RetryAfter != 0 || f.Delay != 0 || f.Drop):
		return "Fault.Hang cannot be combined with Status, Body, ContentType, RetryAfter, Delay or Drop"
	case f.Drop && (f.Status != 0 || f.Body != "" || f.ContentType != "" || f.RetryAfter != 0):
		return "Fault.Drop cannot be combined with Status, Body, ContentType or RetryAfter"
	}
	return ""
}

// faults is the fault injection and call counting of a [Server].
type faults struct {
	// paths maps each endpoint's URL path to the endpoint; metadata is
	// recognised by its /.well-known/ prefix instead.
	paths map[string]Endpoint
	// calls counts the requests that reached each endpoint.
	calls [numEndpoints]atomic.Int64

	// mu guards active and healed.
	mu sync.Mutex
	// active is the fault of each endpoint, with its remaining Times in
	// left (0 for unlimited).
	active [numEndpoints]*activeFault
	// healed is closed by Heal, releasing the requests that Delay or Hang
	// hold; it is then replaced.
	healed chan struct{}
}

type activeFault struct {
	f    Fault
	left int
}

// endpoint returns the endpoint at path.
func (fs *faults) endpoint(path string) (Endpoint, bool) {
	if strings.HasPrefix(path, "/.well-known/") {
		return EndpointMetadata, true
	}
	e, ok := fs.paths[path]
	return e, ok
}

// take counts a request to e and returns the fault it meets, if any, and
// the channel that Heal closes.
func (fs *faults) take(e Endpoint) (*Fault, <-chan struct{}) {
	fs.calls[e].Add(1)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	a := fs.active[e]
	if a == nil {
		return nil, nil
	}
	if a.left > 0 {
		a.left--
		if a.left == 0 {
			fs.active[e] = nil
		}
	}
	f := a.f
	return &f, fs.healed
}

// Fail makes f.Endpoint misbehave as f says, replacing any fault it had,
// until f.Times requests have met it or [Server.Heal] is called. It may be
// called at any time, also while requests are in flight; they are not
// affected. It fails the test if f is invalid.
func (s *Server) Fail(f Fault) {
	s.t.Helper()
	if msg := f.validate(); msg != "" {
		s.t.Fatalf("providertest: %s", msg)
		return
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.active[f.Endpoint] = &activeFault{f: f, left: f.Times}
}

// Heal clears the faults of every endpoint. Requests held by a Delay or
// Hang are released and answered by the provider.
func (s *Server) Heal() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.active = [numEndpoints]*activeFault{}
	close(s.faults.healed)
	s.faults.healed = make(chan struct{})
}

// Calls returns how many requests have reached endpoint e since [New],
// faulty answers included. Requests are counted as they arrive, so a
// request held by a Delay or Hang is already counted.
func (s *Server) Calls(e Endpoint) int {
	if e < 0 || e >= numEndpoints {
		return 0
	}
	return int(s.faults.calls[e].Load())
}

// maxHeldBody is how much of a request body is read before a request is
// held, so that the server notices when its client hangs up.
const maxHeldBody = 1 << 20

// serve answers r, counting it and applying its endpoint's fault.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	e, ok := s.faults.endpoint(r.URL.Path)
	if !ok {
		s.Provider.ServeHTTP(w, r)
		return
	}
	f, healed := s.faults.take(e)
	if f == nil {
		s.Provider.ServeHTTP(w, r)
		return
	}
	if f.Delay > 0 || f.Hang {
		// net/http cancels the request's context when the client hangs up
		// only once the request body has been read.
		body, _ := io.ReadAll(io.LimitReader(r.Body, maxHeldBody))
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		var timer <-chan time.Time
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-r.Context().Done():
			return
		case <-healed:
			s.Provider.ServeHTTP(w, r)
			return
		case <-timer:
		}
	}
	if f.Drop {
		panic(http.ErrAbortHandler)
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((f.RetryAfter+time.Second-1)/time.Second), 10))
	}
	if f.Status == 0 && f.Body == "" {
		if f.ContentType != "" {
			w = &contentTypeWriter{ResponseWriter: w, contentType: f.ContentType}
		}
		s.Provider.ServeHTTP(w, r)
		return
	}
	status, body := f.Status, f.Body
	if status == 0 {
		status = http.StatusOK
	}
	if body == "" && status >= 400 {
		body = `{"error":"` + errorCode(status) + `","error_description":"providertest: injected fault"}`
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
	}
	if f.ContentType != "" {
		w.Header().Set("Content-Type", f.ContentType)
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// errorCode is the RFC 6749 §5.2 error code sent with an injected status.
func errorCode(status int) string {
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable:
		return "temporarily_unavailable"
	case status == http.StatusUnauthorized:
		return "invalid_client"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request"
}

// contentTypeWriter replaces the Content-Type of an answer.
type contentTypeWriter struct {
	http.ResponseWriter
	contentType string
	wroteHeader bool
}

func (w *contentTypeWriter) WriteHeader(status int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		w.Header().Set("Content-Type", w.contentType)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *contentTypeWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}
