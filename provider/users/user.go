package users

import (
	"context"
	"errors"
	"time"
)

// Errors of a [Store], for errors.Is.
var (
	// ErrNotFound means there is no such user.
	ErrNotFound = errors.New("users: no such user")
	// ErrExists means the username (or the subject) is taken.
	ErrExists = errors.New("users: the username is taken")
)

// User is a person who may sign in.
type User struct {
	// Subject is the "sub" claim: random, assigned once by
	// [Directory.Create], never changed and never reused.
	Subject string
	// Username is what the user signs in with; unique in a store, compared
	// exactly (case included).
	Username string
	// PasswordHash is the Argon2id hash of the password in the PHC string
	// format; empty for a user who cannot sign in with a password.
	PasswordHash string
	// Profile holds the user's standard claims.
	Profile Profile
	// CreatedAt is when the user was created; UpdatedAt when the user or
	// the profile last changed (the "updated_at" claim).
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Profile holds a user's OpenID Connect standard claims (OpenID Connect
// Core 1.0 §5.1), under their claim names when encoded as JSON. An empty
// member is not a claim. "sub" is the user's Subject, "updated_at" the
// user's UpdatedAt, and "preferred_username" defaults to the Username.
type Profile struct {
	Name                string   `json:"name,omitempty"`
	GivenName           string   `json:"given_name,omitempty"`
	FamilyName          string   `json:"family_name,omitempty"`
	MiddleName          string   `json:"middle_name,omitempty"`
	Nickname            string   `json:"nickname,omitempty"`
	PreferredUsername   string   `json:"preferred_username,omitempty"`
	ProfileURL          string   `json:"profile,omitempty"`
	Picture             string   `json:"picture,omitempty"`
	Website             string   `json:"website,omitempty"`
	Email               string   `json:"email,omitempty"`
	EmailVerified       bool     `json:"email_verified,omitempty"`
	Gender              string   `json:"gender,omitempty"`
	Birthdate           string   `json:"birthdate,omitempty"`
	Zoneinfo            string   `json:"zoneinfo,omitempty"`
	Locale              string   `json:"locale,omitempty"`
	PhoneNumber         string   `json:"phone_number,omitempty"`
	PhoneNumberVerified bool     `json:"phone_number_verified,omitempty"`
	Address             *Address `json:"address,omitempty"`
}

// Address is the "address" claim (OpenID Connect Core §5.1.1).
type Address struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"street_address,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Country       string `json:"country,omitempty"`
}

// Store keeps users. Implementations must be safe for concurrent use, and a
// write must be visible to every read that starts after it returns (a
// changed password never signs in with the old one afterwards). Package
// provider/users/userstest checks an implementation.
type Store interface {
	// CreateUser adds u, or fails with [ErrExists] if its username or
	// subject is taken.
	CreateUser(ctx context.Context, u *User) error
	// User returns the user with the given subject, or [ErrNotFound].
	User(ctx context.Context, subject string) (*User, error)
	// UserByUsername returns the user with the given username, or
	// [ErrNotFound].
	UserByUsername(ctx context.Context, username string) (*User, error)
	// Users returns every user, ordered by username.
	Users(ctx context.Context) ([]*User, error)
	// UpdateUser replaces the user with u's subject, or fails with
	// [ErrNotFound], or with [ErrExists] if u's username belongs to
	// another user.
	UpdateUser(ctx context.Context, u *User) error
	// DeleteUser removes the user with the given subject, or fails with
	// [ErrNotFound].
	DeleteUser(ctx context.Context, subject string) error
}

// Clone returns a deep copy of u, for a store to keep or hand out without
// aliasing.
func (u *User) Clone() *User {
	c := *u
	if u.Profile.Address != nil {
		a := *u.Profile.Address
		c.Profile.Address = &a
	}
	return &c
}
