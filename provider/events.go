package provider

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/strictjson"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/secevent"
)

// The revocation events endpoint (docs/revocation-events.md): resource
// servers poll it (RFC 8936, with a cursor) for a Security Event Token
// (RFC 8417) per access token revoked. The store appends the events in the
// transactions that revoke; this file delivers them.

// DefaultMaxHeldPolls is the default of Config.MaxHeldPolls.
const DefaultMaxHeldPolls = 1000

const (
	// eventsRecheck is how often the store is re-read for events appended
	// by another process while polls are held: a commit on any replica
	// sharing the store wakes them within this (docs §3: 100 ms).
	eventsRecheck = 50 * time.Millisecond
	// eventsPage is how many events are read from the store at once, and
	// eventsScan how many one poll reads at most (a client that may see
	// few of them gets moreAvailable and asks again at once).
	eventsPage = 250
	eventsScan = 2000
	// heldPollRetry is the Retry-After of a poll refused because
	// MaxHeldPolls are held.
	heldPollRetry = 2 * time.Second
)

// eventsHead reads the head of the store's log of events.
func (p *Provider) eventsHead(ctx context.Context) (int64, error) {
	log, _, err := p.cfg.Store.Events(ctx, 0, 0)
	if err != nil {
		return 0, err
	}
	return log.Head, nil
}

// EventsURL returns the URL of the revocation events endpoint, advertised
// in the metadata as revocation_events_endpoint.
//
// Resource servers hold polls there for up to 25 seconds: the http.Server
// serving the provider needs a WriteTimeout above that, and a server
// shutting down should call [Provider.Close] first, which answers the held
// polls at once (http.Server.Shutdown would otherwise wait for them).
func (p *Provider) EventsURL() string { return p.issuer + pathEvents }

// pollRequest is an RFC 8936 §2.4 poll request, with the cursor of
// docs/revocation-events.md §3. MaxEvents is a pointer because 0 (no SET,
// to check the credentials) differs from absent (the default).
type pollRequest struct {
	ReturnImmediately bool                         `json:"returnImmediately"`
	MaxEvents         *int                         `json:"maxEvents"`
	Ack               []string                     `json:"ack"`
	SetErrs           map[string]secevent.SetError `json:"setErrs"`
	Cursor            string                       `json:"cursor"`
}

// serveEvents is the poll endpoint.
func (p *Provider) serveEvents(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeSETError(w, &oauthError{status: http.StatusMethodNotAllowed, code: "invalid_request", description: "use POST"})
		return
	}
	ctx := r.Context()
	// Authenticated as at the introspection endpoint, without a form: the
	// body is JSON, so client_secret_post cannot apply.
	who, oerr := p.introspectionCaller(ctx, r, url.Values{})
	if oerr != nil {
		writeSETError(w, oerr)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeSETError(w, errInvalidRequest("the body must be application/json"))
		return
	}
	body, oerr := readBounded(w, r, p.cfg.MaxBodyBytes)
	if oerr != nil {
		writeSETError(w, oerr)
		return
	}
	var req pollRequest
	if err := strictjson.Unmarshal(body, &req); err != nil {
		writeSETError(w, errInvalidRequest("the body is not a poll request (RFC 8936 §2.4)"))
		return
	}
	maxEvents := secevent.MaxEvents
	if req.MaxEvents != nil {
		if *req.MaxEvents < 0 {
			writeSETError(w, errInvalidRequest("maxEvents is negative"))
			return
		}
		maxEvents = min(*req.MaxEvents, secevent.MaxEvents)
	}
	if len(req.SetErrs) > 0 {
		p.logSetErrs(who.client.ID, req.SetErrs)
	}
	resp, err := p.poll(ctx, who, req.Cursor, maxEvents, !req.ReturnImmediately)
	switch {
	case errors.Is(err, errTooManyPolls):
		p.observe(Event{Kind: EventPollRefused, Endpoint: EndpointEvents})
		writeSETError(w, &oauthError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable",
			description: "too many polls are held; retry later", retryAfter: strconv.Itoa(int(heldPollRetry / time.Second))})
		return
	case err != nil && ctx.Err() != nil:
		return // the receiver went away
	case err != nil:
		p.cfg.Logger.Error("provider: reading revocation events", "err", err)
		writeSETError(w, &oauthError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable",
			description: "the events cannot be read now", retryAfter: "1"})
		return
	}
	p.observe(Event{Kind: EventPollAnswered, Endpoint: EndpointEvents, Count: int64(len(resp.Sets))})
	writeJSON(w, http.StatusOK, resp)
}

// errTooManyPolls means MaxHeldPolls polls are held already.
var errTooManyPolls = errors.New("provider: too many held polls")

// poll answers a poll of who from cursor: at most maxEvents SETs, oldest
// first; if hold and there are none, it waits for one for up to
// secevent.MaxHold, waking when the log's head moves.
func (p *Provider) poll(ctx context.Context, who *caller, cursor string, maxEvents int, hold bool) (*secevent.PollResponse, error) {
	log, _, err := p.cfg.Store.Events(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	after := placeCursor(cursor, log)
	if maxEvents == 0 {
		return &secevent.PollResponse{Sets: map[string]string{}, Cursor: formatCursor(log.ID, after),
			MoreAvailable: log.Head > after}, nil
	}
	resp, after, err := p.collect(ctx, who, log.ID, after, maxEvents)
	if err != nil || len(resp.Sets) > 0 || !hold {
		return resp, err
	}
	if !p.events.hold() {
		if p.events.isClosed() {
			return resp, nil
		}
		return nil, errTooManyPolls
	}
	defer p.events.release()
	deadline := time.NewTimer(secevent.MaxHold)
	defer deadline.Stop()
	seen := log.Head
	for {
		wake, head := p.events.wait(seen)
		if head <= seen {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-deadline.C:
				return resp, nil
			case <-p.events.done: // Close: the server is shutting down
				return resp, nil
			case <-wake:
			}
			continue
		}
		seen = head
		if resp, after, err = p.collect(ctx, who, log.ID, after, maxEvents); err != nil || len(resp.Sets) > 0 {
			return resp, err
		}
	}
}

// collect reads the events after position after and signs, for who, those
// it may see, until it has maxEvents SETs, reaches the head, or has read
// eventsScan events. It returns the answer and the position of its cursor.
func (p *Provider) collect(ctx context.Context, who *caller, logID string, after int64, maxEvents int) (*secevent.PollResponse, int64, error) {
	resp := &secevent.PollResponse{Sets: map[string]string{}}
	now := p.now()
	for scanned := 0; ; {
		_, events, err := p.cfg.Store.Events(ctx, after, eventsPage)
		if err != nil {
			return nil, 0, err
		}
		for _, e := range events {
			if len(resp.Sets) == maxEvents {
				resp.MoreAvailable = true // e follows the cursor
				resp.Cursor = formatCursor(logID, after)
				return resp, after, nil
			}
			after = e.Position
			scanned++
			if !p.delivers(who, e, now) {
				continue
			}
			jti, set, err := p.signSET(ctx, logID, e, who.client.ID)
			if err != nil {
				return nil, 0, err
			}
			resp.Sets[jti] = set
		}
		if len(events) < eventsPage || scanned >= eventsScan {
			resp.MoreAvailable = len(events) == eventsPage
			resp.Cursor = formatCursor(logID, after)
			return resp, after, nil
		}
	}
}

// delivers reports whether the event goes to who: its token is one who may
// introspect (the audience rule of the introspection endpoint), and it
// still matters (the token has not long expired, the SET would not be too
// old for receivers).
func (p *Provider) delivers(who *caller, e *store.Event, now time.Time) bool {
	if now.After(e.TokenExpiresAt.Add(secevent.RetainAfterExp)) || now.Sub(e.AppendedAt) > secevent.MaxAge-time.Minute {
		return false
	}
	return visible(who, &store.Token{ClientID: e.ClientID, Audience: e.Audience})
}

// signSET makes the SET of event e for the client aud (docs §2). Its jti
// is the same whenever and wherever it is made: derived from the log, the
// position and the client.
func (p *Provider) signSET(ctx context.Context, logID string, e *store.Event, aud string) (string, string, error) {
	sum := sha256.Sum256([]byte(logID + "\n" + strconv.FormatInt(e.Position, 10) + "\n" + aud))
	jti := base64.RawURLEncoding.EncodeToString(sum[:16])
	ev, err := json.Marshal(secevent.TokenRevokedEvent{
		TokenSHA256: base64.RawURLEncoding.EncodeToString(e.TokenHash),
		TokenJTI:    e.TokenJWTID,
		TokenExp:    e.TokenExpiresAt.Unix(),
		Reason:      e.Reason,
	})
	if err != nil {
		return "", "", err
	}
	claims, err := json.Marshal(secevent.Claims{
		Issuer:      p.issuer,
		Audience:    secevent.Audience{aud},
		IssuedAt:    e.AppendedAt.Unix(),
		ID:          jti,
		TimeOfEvent: e.AppendedAt.Unix(),
		Events:      map[string]json.RawMessage{secevent.TokenRevoked: ev},
	})
	if err != nil {
		return "", "", err
	}
	set, err := p.sign(ctx, p.setAlg(), secevent.Type, claims)
	return jti, set, err
}

// setAlg is the algorithm SETs are signed with: ES256 if the provider has
// such keys (fast to sign and to verify), else EdDSA, else RS256.
func (p *Provider) setAlg() string {
	for _, a := range []string{AlgES256, AlgEdDSA} {
		if slices.Contains(p.cfg.KeyAlgorithms, a) {
			return a
		}
	}
	return AlgRS256
}

// logSetErrs logs what a receiver reported about SETs it refused (RFC 8936
// §2.4 setErrs), at most once per lograte.Every.
func (p *Provider) logSetErrs(clientID string, errs map[string]secevent.SetError) {
	ok, suppressed := p.events.setErrsLog.Allow(time.Now())
	if !ok {
		return
	}
	var sample secevent.SetError
	var jti string
	for jti, sample = range errs {
		break
	}
	p.cfg.Logger.Warn("provider: a receiver refused revocation events", "client_id", truncate(clientID, 100),
		"count", len(errs), "jti", truncate(jti, 64), "err", truncate(sample.Err, 40),
		"description", truncate(sample.Description, 200), "reports_suppressed", suppressed)
}

// formatCursor and placeCursor write and read a cursor: the log's id and a
// position in it.
func formatCursor(logID string, position int64) string {
	return logID + ":" + strconv.FormatInt(position, 10)
}

// placeCursor returns the position a cursor names in log; a cursor it
// cannot place — malformed, of another log, ahead of the log — is answered
// as if absent (docs §3): from the oldest event kept.
func placeCursor(cursor string, log *store.EventLog) int64 {
	id, pos, ok := strings.Cut(cursor, ":")
	if !ok || id != log.ID {
		return 0
	}
	n, err := strconv.ParseInt(pos, 10, 64)
	if err != nil || n < 0 || n > log.Head {
		return 0
	}
	return n
}

// writeSETError writes e in the form of RFC 8936 §2.6: {"err",
// "description"}; the code of a 401 is authentication_failed, of a 403
// access_denied.
func writeSETError(w http.ResponseWriter, e *oauthError) {
	code := e.code
	switch e.status {
	case http.StatusUnauthorized:
		code = secevent.ErrCodeAuthentication
	case http.StatusForbidden:
		code = secevent.ErrCodeAccessDenied
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		code = secevent.ErrCodeInvalidRequest
	}
	if e.challenge != "" {
		w.Header().Set("WWW-Authenticate", e.challenge)
	}
	if e.retryAfter != "" {
		w.Header().Set("Retry-After", e.retryAfter)
	}
	writeJSON(w, e.status, secevent.SetError{Err: code, Description: e.description})
}
