package users_test

import (
	"context"
	"testing"

	"github.com/tokengate/tokengate/provider/users"
)

// BenchmarkAuthenticate is the cost of one sign-in at the default Argon2id
// parameters (one hash: 19 MiB, 2 passes, 1 lane), for a known user and
// for an unknown one, which must cost the same.
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	d, err := users.New(users.Config{Store: users.NewMemory(), FailuresPerMinute: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.Create(ctx, "alice", "correct horse battery", users.Profile{}); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, username, password string }{
		{"known", "alice", "correct horse battery"},
		{"unknown", "mallory", "correct horse battery"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				d.Authenticate(ctx, c.username, c.password, "192.0.2.1")
			}
		})
	}
}
