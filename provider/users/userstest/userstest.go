// Package userstest is the conformance suite every implementation of
// [users.Store] passes: the memory store, the SQLite store and any later
// one. It is NOT suitable outside tests.
package userstest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tokengate/tokengate/provider/users"
)

// Run runs the suite; newStore must return an empty store.
func Run(t *testing.T, newStore func(t *testing.T) users.Store) {
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	alice := func() *users.User {
		return &users.User{
			Subject: "sub-alice", Username: `alice'); DROP TABLE users; --`, PasswordHash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5aw",
			Profile: users.Profile{
				Name: "Alice Liddell", GivenName: "Alice", FamilyName: "Liddell", Email: "alice@example.com", EmailVerified: true,
				PhoneNumber: "+44 1865 000000", Locale: "en-GB", Birthdate: "1852-05-04",
				Address: &users.Address{Locality: "Oxford", Country: "GB"},
			},
			CreatedAt: at, UpdatedAt: at.Add(time.Hour),
		}
	}

	t.Run("CreateAndRead", func(t *testing.T) {
		s := newStore(t)
		want := alice()
		if err := s.CreateUser(ctx, want); err != nil {
			t.Fatal(err)
		}
		bySubject, err := s.User(ctx, want.Subject)
		if err != nil {
			t.Fatal(err)
		}
		byName, err := s.UserByUsername(ctx, want.Username)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []*users.User{bySubject, byName} {
			if !same(got, want) {
				t.Errorf("read back %s\nwant       %s", show(got), show(want))
			}
		}
		bySubject.Profile.Address.Locality = "mutated"
		if again, _ := s.User(ctx, want.Subject); again.Profile.Address.Locality != "Oxford" {
			t.Error("User returned an alias of the stored state")
		}
		want.Profile.Address.Country = "mutated"
		if again, _ := s.User(ctx, want.Subject); again.Profile.Address.Country != "GB" {
			t.Error("CreateUser kept an alias of its argument")
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.User(ctx, "nobody"); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("User(nobody) = %v, want ErrNotFound", err)
		}
		if _, err := s.UserByUsername(ctx, "nobody"); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("UserByUsername(nobody) = %v, want ErrNotFound", err)
		}
		if err := s.UpdateUser(ctx, alice()); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("UpdateUser(unknown) = %v, want ErrNotFound", err)
		}
		if err := s.DeleteUser(ctx, "nobody"); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("DeleteUser(nobody) = %v, want ErrNotFound", err)
		}
		list, err := s.Users(ctx)
		if err != nil || len(list) != 0 {
			t.Errorf("Users of an empty store = %v, %v", list, err)
		}
	})

	t.Run("UniqueUsernameAndSubject", func(t *testing.T) {
		s := newStore(t)
		if err := s.CreateUser(ctx, alice()); err != nil {
			t.Fatal(err)
		}
		sameName := alice()
		sameName.Subject = "other"
		if err := s.CreateUser(ctx, sameName); !errors.Is(err, users.ErrExists) {
			t.Errorf("CreateUser with a taken username = %v, want ErrExists", err)
		}
		sameSubject := alice()
		sameSubject.Username = "other"
		if err := s.CreateUser(ctx, sameSubject); !errors.Is(err, users.ErrExists) {
			t.Errorf("CreateUser with a taken subject = %v, want ErrExists", err)
		}
		// Usernames are compared exactly.
		upper := &users.User{Subject: "sub-ALICE", Username: "ALICE'); DROP TABLE users; --", CreatedAt: at, UpdatedAt: at}
		if err := s.CreateUser(ctx, upper); err != nil {
			t.Errorf("CreateUser of a username differing in case = %v", err)
		}
		if got, _ := s.UserByUsername(ctx, upper.Username); got == nil || got.Subject != upper.Subject {
			t.Errorf("UserByUsername(%q) = %v", upper.Username, got)
		}
	})

	t.Run("Update", func(t *testing.T) {
		s := newStore(t)
		a := alice()
		if err := s.CreateUser(ctx, a); err != nil {
			t.Fatal(err)
		}
		bob := &users.User{Subject: "sub-bob", Username: "bob", CreatedAt: at, UpdatedAt: at}
		if err := s.CreateUser(ctx, bob); err != nil {
			t.Fatal(err)
		}
		a.Username, a.PasswordHash, a.Profile = "alice2", "$argon2id$new", users.Profile{Name: "A. L."}
		a.UpdatedAt = at.Add(2 * time.Hour)
		if err := s.UpdateUser(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, err := s.User(ctx, a.Subject)
		if err != nil || !same(got, a) {
			t.Fatalf("after UpdateUser: %s, %v\nwant %s", show(got), err, show(a))
		}
		if _, err := s.UserByUsername(ctx, alice().Username); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("the old username still finds the user: %v", err)
		}
		bob.Username = "alice2"
		if err := s.UpdateUser(ctx, bob); !errors.Is(err, users.ErrExists) {
			t.Errorf("UpdateUser to a taken username = %v, want ErrExists", err)
		}
		if got, _ := s.UserByUsername(ctx, "bob"); got == nil || got.Subject != "sub-bob" {
			t.Errorf("a refused UpdateUser changed the user: %v", got)
		}
	})

	t.Run("ListAndDelete", func(t *testing.T) {
		s := newStore(t)
		for _, name := range []string{"carol", "alice", "bob"} {
			if err := s.CreateUser(ctx, &users.User{Subject: "sub-" + name, Username: name, CreatedAt: at, UpdatedAt: at}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteUser(ctx, "sub-bob"); err != nil {
			t.Fatal(err)
		}
		list, err := s.Users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, u := range list {
			names = append(names, u.Username)
		}
		if fmt.Sprint(names) != "[alice carol]" {
			t.Errorf("Users = %v, want [alice carol]", names)
		}
		if _, err := s.UserByUsername(ctx, "bob"); !errors.Is(err, users.ErrNotFound) {
			t.Errorf("a deleted user is still found: %v", err)
		}
		// The username is free again, and the new user is another one.
		if err := s.CreateUser(ctx, &users.User{Subject: "sub-bob-2", Username: "bob", CreatedAt: at, UpdatedAt: at}); err != nil {
			t.Errorf("re-creating a deleted username: %v", err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Go(func() {
				// Ten pairs race for the same ten usernames: one of each wins.
				name := fmt.Sprintf("user%d", i%10)
				err := s.CreateUser(ctx, &users.User{Subject: fmt.Sprint("sub-", i), Username: name, CreatedAt: at, UpdatedAt: at})
				if err != nil && !errors.Is(err, users.ErrExists) {
					errs <- err
				}
				if _, err := s.UserByUsername(ctx, name); err != nil && !errors.Is(err, users.ErrNotFound) {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if list, _ := s.Users(ctx); len(list) != 10 {
			t.Errorf("%d users after the race, want 10", len(list))
		}
	})
}

// same compares two users, their times to the millisecond (what a store
// must keep at least).
func same(a, b *users.User) bool { return show(a) == show(b) }

func show(u *users.User) string {
	if u == nil {
		return "<nil>"
	}
	c := *u
	c.CreatedAt, c.UpdatedAt = time.Time{}, time.Time{}
	addr := "<nil>"
	if c.Profile.Address != nil {
		addr = fmt.Sprintf("%+v", *c.Profile.Address)
	}
	c.Profile.Address = nil
	return fmt.Sprintf("%+v address=%s created=%d updated=%d", c, addr, u.CreatedAt.UnixMilli(), u.UpdatedAt.UnixMilli())
}
