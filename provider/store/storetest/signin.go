package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/secevent"
)

// runSignIn runs the cases of signing people in: codes, refresh-token
// rotation, consents, sessions, interactions and their sweep.
func runSignIn(t *testing.T, newStore func(t *testing.T) store.Store, now time.Time) {
	ctx := context.Background()
	withClients := func(t *testing.T, ids ...string) store.Store {
		t.Helper()
		s := newStore(t)
		for _, id := range ids {
			if err := s.CreateClient(ctx, &store.Client{ID: id, CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	userToken := func(value, client, subject, grant string) *store.Token {
		return &store.Token{Hash: store.Hash(value), ClientID: client, Subject: subject, Username: "u-" + subject,
			GrantID: grant, Kind: store.TokenAccess, IssuedAt: now, ExpiresAt: now.Add(time.Hour), AuthTime: now}
	}

	// Codes: a code reads back as saved, is redeemed once together with
	// its tokens, and a second redemption saves nothing and says ErrUsed.
	t.Run("Codes", func(t *testing.T) {
		s := withClients(t, "c")
		code := &store.Code{
			Hash: store.Hash("code"), ClientID: "c", GrantID: "g", Subject: "alice", Username: "Alice",
			RedirectURI: "https://app.example/cb?x='1'", Scope: "openid profile", Audience: []string{"https://api.example/"},
			CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Nonce: "n-0S6_WzA2Mj",
			AuthTime: now.Add(-time.Minute), ACR: "1", AMR: []string{"pwd"}, IssuedAt: now, ExpiresAt: now.Add(time.Minute),
		}
		if err := s.SaveCode(ctx, code); err != nil {
			t.Fatal(err)
		}
		got, err := s.Code(ctx, store.Hash("code"))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got.Hash, got.ClientID, got.GrantID, got.Subject, got.Username, got.RedirectURI, got.Scope,
			got.Audience, got.CodeChallenge, got.Nonce, got.ACR, got.AMR) != fmt.Sprint(code.Hash, code.ClientID,
			code.GrantID, code.Subject, code.Username, code.RedirectURI, code.Scope, code.Audience, code.CodeChallenge,
			code.Nonce, code.ACR, code.AMR) || !got.AuthTime.Equal(code.AuthTime) || !got.IssuedAt.Equal(code.IssuedAt) ||
			!got.ExpiresAt.Equal(code.ExpiresAt) || !got.UsedAt.IsZero() {
			t.Errorf("Code = %+v\nwant %+v", got, code)
		}
		if _, err := s.Code(ctx, store.Hash("other")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Code(other) = %v, want ErrNotFound", err)
		}
		at, rt := userToken("at", "c", "alice", "g"), userToken("rt", "c", "alice", "g")
		rt.Kind = store.TokenRefresh
		if err := s.RedeemCode(ctx, store.Hash("code"), now.Add(time.Second), at, rt); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Code(ctx, store.Hash("code")); !got.UsedAt.Equal(now.Add(time.Second)) {
			t.Errorf("redeemed code: UsedAt = %v", got.UsedAt)
		}
		for _, v := range []string{"at", "rt"} {
			if _, err := s.Token(ctx, store.Hash(v)); err != nil {
				t.Errorf("token %s saved with the code: %v", v, err)
			}
		}
		again := userToken("at2", "c", "alice", "g")
		if err := s.RedeemCode(ctx, store.Hash("code"), now.Add(2*time.Second), again); !errors.Is(err, store.ErrUsed) {
			t.Errorf("second RedeemCode = %v, want ErrUsed", err)
		}
		if _, err := s.Token(ctx, store.Hash("at2")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a second redemption saved its token: %v", err)
		}
		if err := s.RedeemCode(ctx, store.Hash("nope"), now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RedeemCode(unknown) = %v, want ErrNotFound", err)
		}
		orphan := &store.Code{Hash: store.Hash("orphan"), ClientID: "gone", GrantID: "g2", Subject: "alice",
			CodeChallenge: "x", IssuedAt: now, ExpiresAt: now.Add(time.Minute)}
		if err := s.SaveCode(ctx, orphan); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SaveCode for an unknown client = %v, want ErrNotFound", err)
		}
		// Saving a token of a client that is gone fails the whole
		// redemption: the code stays unused.
		if err := s.SaveCode(ctx, &store.Code{Hash: store.Hash("code2"), ClientID: "c", GrantID: "g3", Subject: "bob",
			CodeChallenge: "x", IssuedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := s.RedeemCode(ctx, store.Hash("code2"), now, userToken("at3", "gone", "bob", "g3")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RedeemCode with a token of an unknown client = %v, want ErrNotFound", err)
		}
		if got, _ := s.Code(ctx, store.Hash("code2")); !got.UsedAt.IsZero() {
			t.Error("a failed redemption used the code")
		}
		if err := s.DeleteClient(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Code(ctx, store.Hash("code2")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("code survived deleting its client: %v", err)
		}
	})

	// RedeemRace: of many redemptions of one code at once, one wins.
	t.Run("RedeemRace", func(t *testing.T) {
		s := withClients(t, "c")
		if err := s.SaveCode(ctx, &store.Code{Hash: store.Hash("code"), ClientID: "c", GrantID: "g", Subject: "alice",
			CodeChallenge: "x", IssuedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		var won, used atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				err := s.RedeemCode(ctx, store.Hash("code"), now, userToken(fmt.Sprint("at", i), "c", "alice", "g"))
				switch {
				case err == nil:
					won.Add(1)
				case errors.Is(err, store.ErrUsed):
					used.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 || used.Load() != 7 {
			t.Errorf("%d redemptions succeeded and %d said ErrUsed; want 1 and 7", won.Load(), used.Load())
		}
	})

	// Rotation: a refresh token is exchanged once; a used or revoked one
	// is ErrUsed and saves nothing.
	t.Run("RotateToken", func(t *testing.T) {
		s := withClients(t, "c")
		rt := userToken("rt1", "c", "alice", "g")
		rt.Kind = store.TokenRefresh
		if err := s.SaveToken(ctx, rt); err != nil {
			t.Fatal(err)
		}
		next := userToken("rt2", "c", "alice", "g")
		next.Kind = store.TokenRefresh
		if err := s.RotateToken(ctx, store.Hash("rt1"), now.Add(time.Minute), userToken("at1", "c", "alice", "g"), next); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Token(ctx, store.Hash("rt1")); !got.UsedAt.Equal(now.Add(time.Minute)) {
			t.Errorf("rotated token: UsedAt = %v", got.UsedAt)
		}
		if got, err := s.Token(ctx, store.Hash("rt2")); err != nil || got.Kind != store.TokenRefresh {
			t.Errorf("new refresh token: %+v, %v", got, err)
		}
		if err := s.RotateToken(ctx, store.Hash("rt1"), now.Add(2*time.Minute), userToken("at9", "c", "alice", "g")); !errors.Is(err, store.ErrUsed) {
			t.Errorf("reused refresh token: RotateToken = %v, want ErrUsed", err)
		}
		if _, err := s.Token(ctx, store.Hash("at9")); !errors.Is(err, store.ErrNotFound) {
			t.Error("a refused rotation saved its token")
		}
		if _, err := s.RevokeGrant(ctx, "g", secevent.ReasonRevoked); err != nil {
			t.Fatal(err)
		}
		if err := s.RotateToken(ctx, store.Hash("rt2"), now.Add(3*time.Minute)); !errors.Is(err, store.ErrUsed) {
			t.Errorf("revoked refresh token: RotateToken = %v, want ErrUsed", err)
		}
		if err := s.RotateToken(ctx, store.Hash("nope"), now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RotateToken(unknown) = %v, want ErrNotFound", err)
		}
	})

	// Consents: saved per (subject, client), replaced, listed; revoking
	// one revokes that client's tokens of the user, and its codes, and
	// nothing else; revoking for "" revokes for every client.
	t.Run("Consents", func(t *testing.T) {
		s := withClients(t, "c1", "c2")
		for _, c := range []*store.Consent{
			{Subject: "alice", ClientID: "c2", Scopes: []string{"openid"}, GrantedAt: now, ExpiresAt: now.Add(time.Hour)},
			{Subject: "alice", ClientID: "c1", Scopes: []string{"openid"}, GrantedAt: now, ExpiresAt: now.Add(time.Hour)},
			{Subject: "alice", ClientID: "c1", Scopes: []string{"openid", "email"}, GrantedAt: now.Add(time.Second), ExpiresAt: now.Add(2 * time.Hour)},
			{Subject: "bob", ClientID: "c1", Scopes: []string{"profile"}, GrantedAt: now, ExpiresAt: now.Add(time.Hour)},
		} {
			if err := s.SaveConsent(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Consent(ctx, "alice", "c1")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Scopes, []string{"openid", "email"}) || !got.GrantedAt.Equal(now.Add(time.Second)) ||
			!got.ExpiresAt.Equal(now.Add(2*time.Hour)) {
			t.Errorf("Consent = %+v, want the second one saved", got)
		}
		list, err := s.Consents(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ClientID != "c1" || list[1].ClientID != "c2" {
			t.Errorf("Consents(alice) = %v, want c1 then c2", list)
		}
		if _, err := s.Consent(ctx, "carol", "c1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Consent(carol) = %v, want ErrNotFound", err)
		}
		if err := s.SaveConsent(ctx, &store.Consent{Subject: "alice", ClientID: "gone", GrantedAt: now, ExpiresAt: now}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SaveConsent to an unknown client = %v, want ErrNotFound", err)
		}
		for _, tok := range []*store.Token{
			userToken("a1", "c1", "alice", "ga1"), userToken("a1r", "c1", "alice", "ga2"),
			userToken("a2", "c2", "alice", "ga3"), userToken("b1", "c1", "bob", "gb1"),
		} {
			if err := s.SaveToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SaveCode(ctx, &store.Code{Hash: store.Hash("code"), ClientID: "c1", GrantID: "ga4", Subject: "alice",
			CodeChallenge: "x", IssuedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		n, err := s.RevokeConsent(ctx, "alice", "c1")
		if err != nil || n != 2 {
			t.Fatalf("RevokeConsent(alice, c1) = %d, %v; want 2 tokens", n, err)
		}
		revoked := func(v string) bool {
			tok, err := s.Token(ctx, store.Hash(v))
			if err != nil {
				t.Fatal(err)
			}
			return tok.Revoked
		}
		if !revoked("a1") || !revoked("a1r") || revoked("a2") || revoked("b1") {
			t.Errorf("after RevokeConsent(alice, c1): revoked a1 %v a1r %v a2 %v b1 %v; want true true false false",
				revoked("a1"), revoked("a1r"), revoked("a2"), revoked("b1"))
		}
		if err := s.RedeemCode(ctx, store.Hash("code"), now); !errors.Is(err, store.ErrUsed) {
			t.Errorf("a code issued before the consent was revoked: RedeemCode = %v, want ErrUsed", err)
		}
		if _, err := s.Consent(ctx, "alice", "c1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoked consent: Consent = %v, want ErrNotFound", err)
		}
		if _, err := s.Consent(ctx, "alice", "c2"); err != nil {
			t.Errorf("the consent to another client went too: %v", err)
		}
		if n, err := s.RevokeConsent(ctx, "alice", ""); err != nil || n != 1 {
			t.Errorf("RevokeConsent(alice, every client) = %d, %v; want 1", n, err)
		}
		if list, _ := s.Consents(ctx, "alice"); len(list) != 0 {
			t.Errorf("consents left after revoking all: %v", list)
		}
		if list, _ := s.Consents(ctx, "bob"); len(list) != 1 {
			t.Errorf("bob's consents = %v, want 1", list)
		}
		if err := s.DeleteClient(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		if list, _ := s.Consents(ctx, "bob"); len(list) != 0 {
			t.Errorf("a consent survived deleting its client: %v", list)
		}
	})

	// Sessions: saved, read by hash, ended one at a time or all of a user.
	t.Run("Sessions", func(t *testing.T) {
		s := newStore(t)
		mk := func(id, subject string) *store.Session {
			return &store.Session{Hash: store.Hash(id), Subject: subject, Username: "n-" + subject,
				AuthTime: now.Add(-time.Minute), ACR: "0", AMR: []string{"pwd"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		}
		for _, ss := range []*store.Session{mk("s1", "alice"), mk("s2", "alice"), mk("s3", "bob")} {
			if err := s.SaveSession(ctx, ss); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Session(ctx, store.Hash("s1"))
		if err != nil {
			t.Fatal(err)
		}
		want := mk("s1", "alice")
		if got.Subject != want.Subject || got.Username != want.Username || !got.AuthTime.Equal(want.AuthTime) ||
			got.ACR != want.ACR || !slices.Equal(got.AMR, want.AMR) || !got.CreatedAt.Equal(want.CreatedAt) ||
			!got.ExpiresAt.Equal(want.ExpiresAt) || string(got.Hash) != string(want.Hash) {
			t.Errorf("Session = %+v\nwant %+v", got, want)
		}
		if err := s.DeleteSession(ctx, store.Hash("s1")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, store.Hash("s1")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ended session: Session = %v, want ErrNotFound", err)
		}
		if err := s.DeleteSession(ctx, store.Hash("s1")); err != nil {
			t.Errorf("ending an ended session: %v", err)
		}
		if n, err := s.DeleteSessions(ctx, "alice"); err != nil || n != 1 {
			t.Errorf("DeleteSessions(alice) = %d, %v; want 1", n, err)
		}
		if _, err := s.Session(ctx, store.Hash("s3")); err != nil {
			t.Errorf("bob's session went with alice's: %v", err)
		}
	})

	// Interactions: saved, finished once, taken once.
	t.Run("Interactions", func(t *testing.T) {
		s := newStore(t)
		in := &store.Interaction{Hash: store.Hash("i1"), BrowserHash: store.Hash("b"), Kind: "login",
			Request: []byte(`{"client_id":"c"}`), CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
		if err := s.SaveInteraction(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := s.Interaction(ctx, store.Hash("i1"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got.BrowserHash) != string(in.BrowserHash) || got.Kind != "login" || string(got.Request) != string(in.Request) ||
			got.Result != nil || !got.CreatedAt.Equal(now) || !got.ExpiresAt.Equal(in.ExpiresAt) {
			t.Errorf("Interaction = %+v\nwant %+v", got, in)
		}
		if err := s.FinishInteraction(ctx, store.Hash("i1"), []byte(`{"subject":"alice"}`)); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishInteraction(ctx, store.Hash("i1"), []byte(`{"subject":"mallory"}`)); !errors.Is(err, store.ErrUsed) {
			t.Errorf("second FinishInteraction = %v, want ErrUsed", err)
		}
		if err := s.FinishInteraction(ctx, store.Hash("i1"), []byte(`{"subject":"alice"}`)); !errors.Is(err, store.ErrUsed) {
			t.Errorf("second FinishInteraction with the same result = %v, want ErrUsed", err)
		}
		if err := s.FinishInteraction(ctx, store.Hash("nope"), nil); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FinishInteraction(unknown) = %v, want ErrNotFound", err)
		}
		var taken atomic.Int32
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				got, err := s.TakeInteraction(ctx, store.Hash("i1"))
				switch {
				case err == nil:
					taken.Add(1)
					if string(got.Result) != `{"subject":"alice"}` {
						t.Errorf("taken interaction's Result = %q", got.Result)
					}
				case !errors.Is(err, store.ErrNotFound):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if taken.Load() != 1 {
			t.Errorf("the interaction was taken %d times, want once", taken.Load())
		}
		if _, err := s.Interaction(ctx, store.Hash("i1")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("taken interaction: Interaction = %v, want ErrNotFound", err)
		}
	})

	// SweepSignIn: DeleteExpired removes expired codes, sessions, consents
	// and interactions, at most limit per call, and nothing live.
	t.Run("SweepSignIn", func(t *testing.T) {
		s := withClients(t, "c")
		for i := range 12 {
			exp := now.Add(-time.Duration(i+1) * time.Minute)
			if i%4 == 3 {
				exp = now.Add(time.Hour) // one live record of each kind
			}
			id := fmt.Sprint(i)
			var err error
			switch i / 4 {
			case 0:
				err = s.SaveCode(ctx, &store.Code{Hash: store.Hash("c" + id), ClientID: "c", GrantID: "g" + id, Subject: "s" + id,
					CodeChallenge: "x", IssuedAt: now.Add(-time.Hour), ExpiresAt: exp})
			case 1:
				err = s.SaveSession(ctx, &store.Session{Hash: store.Hash("s" + id), Subject: "s" + id, AuthTime: now,
					CreatedAt: now.Add(-time.Hour), ExpiresAt: exp})
			case 2:
				err = s.SaveConsent(ctx, &store.Consent{Subject: "s" + id, ClientID: "c", GrantedAt: now.Add(-time.Hour), ExpiresAt: exp})
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SaveInteraction(ctx, &store.Interaction{Hash: store.Hash("i" + id), BrowserHash: []byte{1}, Kind: "login",
				Request: []byte("{}"), CreatedAt: now.Add(-time.Hour), ExpiresAt: exp}); err != nil {
				t.Fatal(err)
			}
		}
		// 9 expired interactions and 9 expired others: 18.
		var got []int64
		for range 5 {
			n, err := s.DeleteExpired(ctx, now, 7)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, n)
		}
		if !slices.Equal(got, []int64{7, 7, 4, 0, 0}) {
			t.Errorf("batches of 7 deleted %v, want [7 7 4 0 0]", got)
		}
		if _, err := s.Code(ctx, store.Hash("c3")); err != nil {
			t.Errorf("live code swept: %v", err)
		}
		if _, err := s.Session(ctx, store.Hash("s7")); err != nil {
			t.Errorf("live session swept: %v", err)
		}
		if _, err := s.Consent(ctx, "s11", "c"); err != nil {
			t.Errorf("live consent swept: %v", err)
		}
		if _, err := s.Interaction(ctx, store.Hash("i11")); err != nil {
			t.Errorf("live interaction swept: %v", err)
		}
		if _, err := s.Code(ctx, store.Hash("c0")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired code survived: %v", err)
		}
		if _, err := s.DeleteExpired(ctx, now, 0); err == nil {
			t.Error("DeleteExpired with limit 0 succeeded")
		}
	})
}
