package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/secevent"
)

// runEvents runs the cases of the log of revocation events: which
// revocations append which events, positions in commit order without gaps
// (also under concurrent appends), reading after a position with a limit,
// and retention.
func runEvents(t *testing.T, newStore func(t *testing.T) store.Store, now time.Time) {
	ctx := context.Background()
	// fixture saves, for client c (created with c2): an opaque and a JWT
	// access token and a refresh token of grant g1 for alice, an access
	// token of grant g2 for alice, and one of grant g3 for bob, and to c2
	// an access token of grant g4 for alice.
	fixture := func(t *testing.T) store.Store {
		s := newStore(t)
		for _, id := range []string{"c", "c2"} {
			if err := s.CreateClient(ctx, &store.Client{ID: id, CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		tok := func(name, client, sub, grant string, exp time.Duration) *store.Token {
			return &store.Token{Hash: store.Hash(name), ClientID: client, Subject: sub, GrantID: grant, Kind: store.TokenAccess,
				Format: "opaque", JWTID: "jti-" + name, Audience: []string{"https://api.example/", "orders"},
				IssuedAt: now, ExpiresAt: now.Add(exp), AuthTime: now}
		}
		jwt := tok("g1-jwt", "c", "alice", "g1", 2*time.Hour)
		jwt.Format = "jwt"
		refresh := tok("g1-refresh", "c", "alice", "g1", 48*time.Hour)
		refresh.Kind = store.TokenRefresh
		legacy := tok("g1-legacy", "c", "alice", "g1", 3*time.Hour)
		legacy.Kind = "" // an access token of the first release
		for _, t0 := range []*store.Token{tok("g1-opaque", "c", "alice", "g1", time.Hour), jwt, refresh, legacy,
			tok("g2", "c", "alice", "g2", time.Hour), tok("g3", "c", "bob", "g3", time.Hour), tok("g4", "c2", "alice", "g4", time.Hour)} {
			if err := s.SaveToken(ctx, t0); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	all := func(t *testing.T, s store.Store) (*store.EventLog, []*store.Event) {
		t.Helper()
		log, events, err := s.Events(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return log, events
	}
	// hashes names the events' tokens by their fixture names.
	names := map[string]string{}
	for _, n := range []string{"g1-opaque", "g1-jwt", "g1-refresh", "g1-legacy", "g2", "g3", "g4", "extra"} {
		names[string(store.Hash(n))] = n
	}
	tokensOf := func(events []*store.Event) []string {
		var out []string
		for _, e := range events {
			out = append(out, names[string(e.TokenHash)])
		}
		slices.Sort(out)
		return out
	}
	checkPositions := func(t *testing.T, log *store.EventLog, events []*store.Event, from int64) {
		t.Helper()
		for i, e := range events {
			if e.Position != from+int64(i) {
				t.Errorf("event %d has position %d, want %d (positions %v)", i, e.Position, from+int64(i), positions(events))
			}
		}
		if n := len(events); n > 0 && log.Head != events[n-1].Position {
			t.Errorf("Head = %d, last position %d", log.Head, events[n-1].Position)
		}
	}

	t.Run("EventsEmpty", func(t *testing.T) {
		s := newStore(t)
		log, events, err := s.Events(ctx, 0, 10)
		if err != nil || log == nil || log.ID == "" || log.Head != 0 || len(events) != 0 {
			t.Fatalf("Events of a new store = %+v, %v, %v; want a named log, head 0, no events", log, events, err)
		}
		again, _, _ := s.Events(ctx, 0, 0)
		if again.ID != log.ID {
			t.Errorf("the log's ID changed: %q then %q", log.ID, again.ID)
		}
		other, _, _ := newStore(t).Events(ctx, 0, 0)
		if other.ID == log.ID {
			t.Errorf("two stores share the log ID %q", log.ID)
		}
		if _, _, err := s.Events(ctx, 0, -1); err == nil {
			t.Error("Events with a negative limit succeeded")
		}
	})

	t.Run("RevokeGrantAppends", func(t *testing.T) {
		s := fixture(t)
		before := time.Now().Add(-time.Second)
		if n, err := s.RevokeGrant(ctx, "g1", secevent.ReasonRefreshTokenReuse); err != nil || n != 4 {
			t.Fatalf("RevokeGrant = %d, %v; want 4", n, err)
		}
		after := time.Now().Add(time.Second)
		log, events := all(t, s)
		if got := tokensOf(events); !slices.Equal(got, []string{"g1-jwt", "g1-legacy", "g1-opaque"}) {
			t.Fatalf("events for %v, want the three access tokens of g1 (no refresh token)", got)
		}
		checkPositions(t, log, events, 1)
		for _, e := range events {
			name := names[string(e.TokenHash)]
			wantJTI, wantExp := "", now.Add(time.Hour)
			switch name {
			case "g1-jwt":
				wantJTI, wantExp = "jti-g1-jwt", now.Add(2*time.Hour)
			case "g1-legacy":
				wantExp = now.Add(3 * time.Hour)
			}
			if e.TokenJWTID != wantJTI || !e.TokenExpiresAt.Equal(wantExp) || e.ClientID != "c" ||
				!slices.Equal(e.Audience, []string{"https://api.example/", "orders"}) ||
				e.Reason != secevent.ReasonRefreshTokenReuse || e.AppendedAt.Before(before) || e.AppendedAt.After(after) {
				t.Errorf("event for %s = %+v; want jti %q, exp %v, client c, the token's audience, reason %s, appended now",
					name, e, wantJTI, wantExp, secevent.ReasonRefreshTokenReuse)
			}
		}
		// Revoking again revokes nothing new: no event.
		if _, err := s.RevokeGrant(ctx, "g1", secevent.ReasonRevoked); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RevokeGrant(ctx, "unknown", secevent.ReasonRevoked); err != nil {
			t.Fatal(err)
		}
		if log2, events2 := all(t, s); log2.Head != 3 || len(events2) != 3 || log2.ID != log.ID {
			t.Errorf("after revoking g1 again and an unknown grant: head %d, %d events; want 3, 3", log2.Head, len(events2))
		}
		if _, err := s.RevokeGrant(ctx, "g2", secevent.ReasonAdmin); err != nil {
			t.Fatal(err)
		}
		log, events = all(t, s)
		checkPositions(t, log, events, 1)
		if len(events) != 4 || names[string(events[3].TokenHash)] != "g2" || events[3].Reason != secevent.ReasonAdmin {
			t.Errorf("after revoking g2: %v, want g2's event last, reason admin", tokensOf(events))
		}
		events[0].Audience[0] = "mutated"
		if _, again := all(t, s); again[0].Audience[0] == "mutated" {
			t.Error("Events returned an alias of the stored state")
		}
	})

	t.Run("EventsAfterAndLimit", func(t *testing.T) {
		s := fixture(t)
		for _, g := range []string{"g1", "g2", "g3", "g4"} { // 3 + 1 + 1 + 1 events
			if _, err := s.RevokeGrant(ctx, g, secevent.ReasonRevoked); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct {
			after int64
			limit int
			want  []int64
		}{
			{0, 100, []int64{1, 2, 3, 4, 5, 6}},
			{0, 2, []int64{1, 2}},
			{2, 2, []int64{3, 4}},
			{4, 100, []int64{5, 6}},
			{5, 1, []int64{6}},
			{6, 100, nil},
			{99, 100, nil}, // ahead of the log
			{-5, 1, []int64{1}},
			{3, 0, nil}, // the log alone
		} {
			log, events, err := s.Events(ctx, tt.after, tt.limit)
			if err != nil || log.Head != 6 || !slices.Equal(positions(events), tt.want) {
				t.Errorf("Events(%d, %d) = head %d, %v, %v; want head 6, %v", tt.after, tt.limit, log.Head, positions(events), err, tt.want)
			}
		}
	})

	t.Run("RevokeConsentAppends", func(t *testing.T) {
		s := fixture(t)
		if _, err := s.RevokeGrant(ctx, "g2", secevent.ReasonRevoked); err != nil { // revoked before: no second event
			t.Fatal(err)
		}
		if n, err := s.RevokeConsent(ctx, "alice", "c"); err != nil || n != 4 {
			t.Fatalf("RevokeConsent(alice, c) = %d, %v; want 4 (g1's three and its refresh token)", n, err)
		}
		log, events := all(t, s)
		checkPositions(t, log, events, 1)
		if got := tokensOf(events[1:]); !slices.Equal(got, []string{"g1-jwt", "g1-legacy", "g1-opaque"}) {
			t.Errorf("RevokeConsent(alice, c) appended events for %v, want g1's three access tokens", got)
		}
		for _, e := range events[1:] {
			if e.Reason != secevent.ReasonGrantRevoked {
				t.Errorf("reason %q, want %q", e.Reason, secevent.ReasonGrantRevoked)
			}
		}
		if _, err := s.RevokeConsent(ctx, "alice", ""); err != nil {
			t.Fatal(err)
		}
		log, events = all(t, s)
		checkPositions(t, log, events, 1)
		if len(events) != 5 || names[string(events[4].TokenHash)] != "g4" || events[4].ClientID != "c2" {
			t.Errorf("RevokeConsent(alice, \"\"): events %v, want g4 (client c2) last", tokensOf(events))
		}
	})

	t.Run("DeleteClientAppends", func(t *testing.T) {
		s := fixture(t)
		if _, err := s.RevokeGrant(ctx, "g3", secevent.ReasonRevoked); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteClient(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		log, events := all(t, s)
		checkPositions(t, log, events, 1)
		if got := tokensOf(events[1:]); !slices.Equal(got, []string{"g1-jwt", "g1-legacy", "g1-opaque", "g2"}) {
			t.Errorf("DeleteClient(c) appended events for %v; want c's unrevoked access tokens", got)
		}
		for _, e := range events[1:] {
			if e.Reason != secevent.ReasonClientDeleted || e.ClientID != "c" {
				t.Errorf("event %+v; want reason %s, client c", e, secevent.ReasonClientDeleted)
			}
		}
		if err := s.DeleteClient(ctx, "c"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second DeleteClient = %v", err)
		}
		if log2, _ := all(t, s); log2.Head != log.Head {
			t.Errorf("a failed DeleteClient moved the head from %d to %d", log.Head, log2.Head)
		}
	})

	// NoEventsElsewhere: issuing, rotating, redeeming, sweeping and ending
	// sessions revoke no access token, and append nothing.
	t.Run("NoEventsElsewhere", func(t *testing.T) {
		s := fixture(t)
		code := &store.Code{Hash: store.Hash("code"), ClientID: "c", GrantID: "g5", Subject: "alice", CodeChallenge: "x",
			IssuedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := s.SaveCode(ctx, code); err != nil {
			t.Fatal(err)
		}
		extra := &store.Token{Hash: store.Hash("extra"), ClientID: "c", Subject: "alice", GrantID: "g5", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.RedeemCode(ctx, store.Hash("code"), now, extra); err != nil {
			t.Fatal(err)
		}
		if err := s.RedeemCode(ctx, store.Hash("code"), now); !errors.Is(err, store.ErrUsed) {
			t.Fatal(err)
		}
		if err := s.RotateToken(ctx, store.Hash("g1-refresh"), now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteExpiredTokens(ctx, now.Add(100*time.Hour), 100); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteSessions(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if log, events := all(t, s); log.Head != 0 || len(events) != 0 {
			t.Errorf("head %d, events %v; want none", log.Head, tokensOf(events))
		}
	})

	// Retention: DeleteEvents deletes by the token's expiry or by the
	// event's age, in batches; positions are never reused afterwards.
	t.Run("DeleteEvents", func(t *testing.T) {
		s := fixture(t)
		if _, err := s.RevokeGrant(ctx, "g1", secevent.ReasonRevoked); err != nil { // expiring at +1h, +2h, +3h
			t.Fatal(err)
		}
		if n, err := s.DeleteEvents(ctx, now.Add(time.Hour), now.Add(-time.Hour), 10); err != nil || n != 0 {
			t.Errorf("DeleteEvents(none due) = %d, %v; want 0", n, err)
		}
		if n, err := s.DeleteEvents(ctx, now.Add(150*time.Minute), now.Add(-time.Hour), 1); err != nil || n != 1 {
			t.Errorf("DeleteEvents(two due, limit 1) = %d, %v; want 1", n, err)
		}
		if n, err := s.DeleteEvents(ctx, now.Add(150*time.Minute), now.Add(-time.Hour), 10); err != nil || n != 1 {
			t.Errorf("DeleteEvents(one due) = %d, %v; want 1", n, err)
		}
		log, events := all(t, s)
		if got := tokensOf(events); log.Head != 3 || !slices.Equal(got, []string{"g1-legacy"}) {
			t.Errorf("kept head %d, %v; want head 3 and g1-legacy's event", log.Head, got)
		}
		if _, err := s.RevokeGrant(ctx, "g2", secevent.ReasonRevoked); err != nil {
			t.Fatal(err)
		}
		// Appended a day ago, by their appended time: both go.
		if n, err := s.DeleteEvents(ctx, now, time.Now().Add(time.Minute), 10); err != nil || n != 2 {
			t.Errorf("DeleteEvents(by age) = %d, %v; want 2", n, err)
		}
		if _, err := s.RevokeGrant(ctx, "g3", secevent.ReasonRevoked); err != nil {
			t.Fatal(err)
		}
		log, events = all(t, s)
		if log.Head != 5 || len(events) != 1 || events[0].Position != 5 {
			t.Errorf("after deleting every event: head %d, positions %v; want 5, [5]", log.Head, positions(events))
		}
		if _, err := s.DeleteEvents(ctx, now, now, 0); err == nil {
			t.Error("DeleteEvents with limit 0 succeeded")
		}
	})

	// NoGaps: revocations committing concurrently get positions 1..n, and a
	// reader following the log the whole time, asking each time for what
	// follows the last position it read, sees every event.
	t.Run("NoGaps", func(t *testing.T) {
		s := newStore(t)
		if err := s.CreateClient(ctx, &store.Client{ID: "c", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		const writers, each = 4, 10
		for i := range writers * each {
			tok := &store.Token{Hash: store.Hash(fmt.Sprint("t", i)), ClientID: "c", GrantID: fmt.Sprint("g", i),
				IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := s.SaveToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan struct{})
		seen := map[int64]bool{}
		var readErr error
		var reader sync.WaitGroup
		reader.Go(func() {
			var cursor int64
			for finished := false; ; {
				select {
				case <-done:
					finished = true
				default:
				}
				_, events, err := s.Events(ctx, cursor, 7)
				if err != nil {
					readErr = err
					return
				}
				for _, e := range events {
					if e.Position != cursor+1 {
						readErr = fmt.Errorf("read position %d after %d", e.Position, cursor)
						return
					}
					seen[e.Position], cursor = true, e.Position
				}
				if finished && len(events) == 0 {
					return
				}
			}
		})
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					if _, err := s.RevokeGrant(ctx, fmt.Sprint("g", w*each+i), secevent.ReasonRevoked); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		close(done)
		reader.Wait()
		if readErr != nil {
			t.Fatal(readErr)
		}
		log, events := all(t, s)
		checkPositions(t, log, events, 1)
		if len(seen) != writers*each || log.Head != writers*each {
			t.Errorf("the reader saw %d events, head %d; want %d", len(seen), log.Head, writers*each)
		}
	})
}

func positions(events []*store.Event) []int64 {
	var out []int64
	for _, e := range events {
		out = append(out, e.Position)
	}
	return out
}
