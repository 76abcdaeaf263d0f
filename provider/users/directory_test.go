package users_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/provider/users"
)

// cheap are the parameters tests hash with: the smallest Argon2id allows.
var cheap = users.Params{MemoryKiB: 8, Passes: 1, Lanes: 1}

func newDirectory(t *testing.T) *users.Directory {
	t.Helper()
	d, err := users.New(users.Config{Store: users.NewMemory(), Params: cheap})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	a, err := d.Create(ctx, "alice", "correct horse", users.Profile{Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Subject) < 20 || a.PasswordHash == "" || strings.Contains(a.PasswordHash, "correct horse") || a.CreatedAt.IsZero() {
		t.Errorf("created %+v", a)
	}
	b, err := d.Create(ctx, "bob", "correct horse", users.Profile{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Subject == b.Subject {
		t.Error("two users got one subject")
	}
	for _, c := range []struct {
		name, username, password string
		want                     error
	}{
		{"taken", "alice", "correct horse", users.ErrExists},
		{"empty username", "", "correct horse", users.ErrInvalidUsername},
		{"spaces around", " carol", "correct horse", users.ErrInvalidUsername},
		{"control character", "car\nol", "correct horse", users.ErrInvalidUsername},
		{"not UTF-8", "car\xffol", "correct horse", users.ErrInvalidUsername},
		{"too long", strings.Repeat("c", users.MaxUsernameBytes+1), "correct horse", users.ErrInvalidUsername},
		{"short password", "carol", "1234567", users.ErrInvalidPassword},
		{"long password", "carol", strings.Repeat("p", users.MaxPasswordBytes+1), users.ErrInvalidPassword},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := d.Create(ctx, c.username, c.password, users.Profile{}); !errors.Is(err, c.want) {
				t.Errorf("Create = %v, want %v", err, c.want)
			}
		})
	}
	if _, err := d.Create(ctx, "dörte", "äöü-ßß-€", users.Profile{}); err != nil {
		t.Errorf("8 non-ASCII characters (more bytes) are a valid password: %v", err)
	}
}

func TestSetPasswordAndDelete(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	alice, err := d.Create(ctx, "alice", "correct horse", users.Profile{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword(ctx, "alice", "battery staple"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, "alice", "correct horse", "192.0.2.1"); !errors.Is(err, users.ErrInvalidCredentials) {
		t.Errorf("the old password = %v, want ErrInvalidCredentials", err)
	}
	if u, err := d.Authenticate(ctx, "alice", "battery staple", "192.0.2.1"); err != nil || u.Subject != alice.Subject {
		t.Errorf("the new password = %v, %v", u, err)
	}
	if err := d.SetPassword(ctx, "alice", "short"); !errors.Is(err, users.ErrInvalidPassword) {
		t.Errorf("SetPassword(short) = %v", err)
	}
	if err := d.SetPassword(ctx, "nobody", "battery staple"); !errors.Is(err, users.ErrNotFound) {
		t.Errorf("SetPassword(nobody) = %v", err)
	}
	gone, err := d.Delete(ctx, "alice")
	if err != nil || gone.Subject != alice.Subject {
		t.Fatalf("Delete = %v, %v", gone, err)
	}
	if _, err := d.Authenticate(ctx, "alice", "battery staple", "192.0.2.1"); !errors.Is(err, users.ErrInvalidCredentials) {
		t.Errorf("a deleted user signs in: %v", err)
	}
	if _, err := d.Delete(ctx, "alice"); !errors.Is(err, users.ErrNotFound) {
		t.Errorf("Delete twice = %v", err)
	}
	if list, _ := d.List(ctx); len(list) != 0 {
		t.Errorf("List after Delete = %v", list)
	}
}

func TestClaims(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t)
	full, err := d.Create(ctx, "alice", "correct horse", users.Profile{
		Name: "Alice Liddell", GivenName: "Alice", FamilyName: "Liddell", Locale: "en-GB",
		Email: "alice@example.com", EmailVerified: true, PhoneNumber: "+44 1865 000000",
		Address: &users.Address{Locality: "Oxford", Country: "GB"},
	})
	if err != nil {
		t.Fatal(err)
	}
	bare, err := d.Create(ctx, "bob", "correct horse", users.Profile{})
	if err != nil {
		t.Fatal(err)
	}
	updated := full.UpdatedAt.Unix()
	for _, c := range []struct {
		name    string
		subject string
		scopes  []string
		want    string
	}{
		{"openid only", full.Subject, []string{"openid"}, `{}`},
		{"profile", full.Subject, []string{"openid", "profile"},
			`{"family_name":"Liddell","given_name":"Alice","locale":"en-GB","name":"Alice Liddell","preferred_username":"alice","updated_at":` + itoa(updated) + `}`},
		{"email", full.Subject, []string{"email"}, `{"email":"alice@example.com","email_verified":true}`},
		{"address", full.Subject, []string{"address"}, `{"address":{"locality":"Oxford","country":"GB"}}`},
		{"phone, unverified", full.Subject, []string{"phone"}, `{"phone_number":"+44 1865 000000","phone_number_verified":false}`},
		{"custom scopes add nothing", full.Subject, []string{"orders:read"}, `{}`},
		{"an empty profile", bare.Subject, []string{"profile", "email", "address", "phone"},
			`{"preferred_username":"bob","updated_at":` + itoa(bare.UpdatedAt.Unix()) + `}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			claims, err := d.Claims(ctx, c.subject, c.scopes)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(claims)
			if string(got) != c.want {
				t.Errorf("Claims = %s\nwant     %s", got, c.want)
			}
		})
	}
	if _, err := d.Claims(ctx, "nobody", []string{"profile"}); !errors.Is(err, users.ErrNotFound) {
		t.Errorf("Claims(nobody) = %v, want ErrNotFound", err)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
