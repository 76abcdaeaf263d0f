package revocationfeed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/tokengate/tokengate/internal/discovery"
	"github.com/tokengate/tokengate/internal/oauthhttp"
	"github.com/tokengate/tokengate/internal/strictjson"
	"github.com/tokengate/tokengate/secevent"
)

// Errors of [Subscriber.Ping], for use with errors.Is.
var (
	// ErrNoEndpoint means the issuer's metadata names no
	// revocation_events_endpoint: it sends no revocation events.
	ErrNoEndpoint = errors.New("revocationfeed: the issuer advertises no revocation_events_endpoint")
	// ErrRejected means the endpoint refused our credentials (401, 403).
	ErrRejected = errors.New("revocationfeed: the event endpoint refused our credentials")
	// ErrUnavailable means the endpoint or the metadata could not be read.
	ErrUnavailable = errors.New("revocationfeed: event endpoint unavailable")
)

// pollError is a failed poll, with the wait the transmitter asked for.
type pollError struct {
	err        error
	retryAfter time.Duration
}

func (e *pollError) Error() string { return e.err.Error() }
func (e *pollError) Unwrap() error { return e.err }

// Ping checks that the issuer advertises an event endpoint and that it
// accepts our credentials, with a poll that asks for no SET (RFC 8936
// maxEvents 0, returnImmediately). Call it at start-up.
func (s *Subscriber) Ping(ctx context.Context) error {
	endpoint, err := s.discover(ctx)
	if err != nil {
		return err
	}
	maxEvents := 0
	_, err = s.post(ctx, endpoint, &secevent.PollRequest{ReturnImmediately: true}, &maxEvents)
	return err
}

// discover returns the endpoint, reading the issuer's metadata once.
func (s *Subscriber) discover(ctx context.Context) (string, error) {
	s.mu.Lock()
	endpoint := s.endpoint
	s.mu.Unlock()
	if endpoint != "" {
		return endpoint, nil
	}
	md, err := discovery.Fetch(ctx, s.discoveryClient, s.cfg.Issuer, 0)
	if err != nil {
		return "", fmt.Errorf("%w: metadata of %s: %w", ErrUnavailable, s.cfg.Issuer, err)
	}
	if md.RevocationEventsEndpoint == "" {
		return "", fmt.Errorf("%w (metadata at %s)", ErrNoEndpoint, md.URL)
	}
	if err := oauthhttp.CheckURL(md.RevocationEventsEndpoint, s.cfg.InsecureAllowHTTP, "InsecureAllowHTTP"); err != nil {
		return "", fmt.Errorf("%w: metadata at %s: revocation_events_endpoint: %w", ErrUnavailable, md.URL, err)
	}
	s.mu.Lock()
	s.endpoint = md.RevocationEventsEndpoint
	s.mu.Unlock()
	return md.RevocationEventsEndpoint, nil
}

// pollLoop polls until ctx is done: a long poll at a time, the next one
// at once after an answer, after a growing wait after a failure.
func (s *Subscriber) pollLoop(ctx context.Context) {
	var cursor string
	failures := 0
	for ctx.Err() == nil {
		start := time.Now()
		next, n, err := s.pollOnce(ctx, cursor)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if !errors.Is(err, errKeysUnavailable) {
				s.setState(true, err)
			}
			failures++
			var pe *pollError
			wait := s.backoff(failures)
			if errors.As(err, &pe) && pe.retryAfter > wait {
				wait = min(pe.retryAfter, s.cfg.MaxBackoff)
			}
			sleep(ctx, wait)
			continue
		}
		failures = 0
		cursor = next
		if n == 0 {
			// A transmitter that does not hold empty polls is not asked
			// in a tight loop.
			sleep(ctx, minEmptyPoll-time.Since(start))
		}
	}
}

// pollOnce makes one poll from cursor, applies its SETs and returns the
// cursor to poll from next and how many SETs came. The cursor does not
// move when a SET's keys could not be fetched: the transmitter sends the
// batch again, and what was applied is recognized as duplicate.
func (s *Subscriber) pollOnce(ctx context.Context, cursor string) (string, int, error) {
	endpoint, err := s.discover(ctx)
	if err != nil {
		return cursor, 0, err
	}
	s.mu.Lock()
	req := &secevent.PollRequest{MaxEvents: secevent.MaxEvents, Cursor: cursor, SetErrs: s.setErrs}
	s.mu.Unlock()
	resp, err := s.post(ctx, endpoint, req, nil)
	if err != nil {
		return cursor, 0, err
	}
	s.setState(false, nil)
	s.mu.Lock()
	s.setErrs = nil
	s.mu.Unlock()
	for jti, set := range resp.Sets {
		id, applied, err := s.receive(ctx, set, "poll")
		var r *refusal
		switch {
		case errors.Is(err, errKeysUnavailable):
			return cursor, len(resp.Sets), err
		case errors.As(err, &r):
			s.mu.Lock()
			if s.setErrs == nil {
				s.setErrs = map[string]secevent.SetError{}
			}
			if len(s.setErrs) < secevent.MaxEvents {
				s.setErrs[jti] = secevent.SetError{Err: r.code, Description: r.msg}
			}
			s.mu.Unlock()
		case applied && s.cfg.Redis != nil:
			s.relay(ctx, id, set)
		}
	}
	if len(resp.Cursor) > secevent.MaxCursorBytes {
		return cursor, len(resp.Sets), fmt.Errorf("%w: cursor longer than %d bytes", ErrUnavailable, secevent.MaxCursorBytes)
	}
	return resp.Cursor, len(resp.Sets), nil
}

// post sends one poll request and decodes the answer. maxEvents, if not
// nil, is sent as it is, zero included.
func (s *Subscriber) post(ctx context.Context, endpoint string, pr *secevent.PollRequest, maxEvents *int) (*secevent.PollResponse, error) {
	var body []byte
	var err error
	if maxEvents != nil {
		body, err = json.Marshal(struct {
			*secevent.PollRequest
			MaxEvents int `json:"maxEvents"`
		}{pr, *maxEvents})
	} else {
		body, err = json.Marshal(pr)
	}
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	switch {
	case s.cfg.TokenSource != nil:
		tok, err := s.cfg.TokenSource.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: token source: %w", ErrUnavailable, err)
		}
		req.Header.Set("Authorization", oauthhttp.Bearer(tok.AccessToken))
	case s.cfg.ClientSecret != "":
		req.Header.Set("Authorization", oauthhttp.BasicAuth(s.cfg.ClientID, s.cfg.ClientSecret))
	}
	res, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer res.Body.Close()
	raw, err := oauthhttp.ReadBody(res.Body, maxPollBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if res.StatusCode != http.StatusOK {
		var e secevent.SetError
		json.Unmarshal(raw, &e) // RFC 8936 §2.6; best effort, for the message
		msg := fmt.Errorf("event endpoint answered %d %s", res.StatusCode, http.StatusText(res.StatusCode))
		if e.Err != "" {
			msg = fmt.Errorf("%w: %.64s (%.200s)", msg, e.Err, e.Description)
		}
		cat := ErrUnavailable
		if res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden {
			cat = ErrRejected
		}
		return nil, &pollError{fmt.Errorf("%w: %w", cat, msg), oauthhttp.ParseRetryAfter(res.Header.Get("Retry-After"), s.cfg.Now())}
	}
	if mt := oauthhttp.MediaType(res.Header.Get("Content-Type")); !oauthhttp.IsJSON(mt) {
		return nil, fmt.Errorf("%w: Content-Type %q is not JSON", ErrUnavailable, mt)
	}
	var pr2 secevent.PollResponse
	if err := strictjson.Unmarshal(raw, &pr2); err != nil {
		return nil, fmt.Errorf("%w: poll response: %w", ErrUnavailable, err)
	}
	if pr2.Sets == nil {
		return nil, fmt.Errorf("%w: poll response has no sets", ErrUnavailable)
	}
	return &pr2, nil
}

// backoff returns the wait after the n-th failure in a row: MinBackoff,
// doubling up to MaxBackoff, with up to a quarter of jitter either way so
// that a fleet does not come back all at once.
func (s *Subscriber) backoff(n int) time.Duration {
	d := s.cfg.MinBackoff
	for i := 1; i < n && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.cfg.MaxBackoff)
	return d - d/4 + rand.N(d/2+1)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
