package users

import (
	"cmp"
	"context"
	"slices"
)

// standardClaims lists, in the order of OpenID Connect Core §5.4, which
// scope asks for which standard claim, and where the claim's value is.
// A value that is the zero value is not a claim.
var standardClaims = []struct {
	scope, name string
	value       func(u *User) any
}{
	{"profile", "name", func(u *User) any { return u.Profile.Name }},
	{"profile", "family_name", func(u *User) any { return u.Profile.FamilyName }},
	{"profile", "given_name", func(u *User) any { return u.Profile.GivenName }},
	{"profile", "middle_name", func(u *User) any { return u.Profile.MiddleName }},
	{"profile", "nickname", func(u *User) any { return u.Profile.Nickname }},
	{"profile", "preferred_username", func(u *User) any { return cmp.Or(u.Profile.PreferredUsername, u.Username) }},
	{"profile", "profile", func(u *User) any { return u.Profile.ProfileURL }},
	{"profile", "picture", func(u *User) any { return u.Profile.Picture }},
	{"profile", "website", func(u *User) any { return u.Profile.Website }},
	{"profile", "gender", func(u *User) any { return u.Profile.Gender }},
	{"profile", "birthdate", func(u *User) any { return u.Profile.Birthdate }},
	{"profile", "zoneinfo", func(u *User) any { return u.Profile.Zoneinfo }},
	{"profile", "locale", func(u *User) any { return u.Profile.Locale }},
	{"profile", "updated_at", func(u *User) any {
		if u.UpdatedAt.IsZero() {
			return int64(0)
		}
		return u.UpdatedAt.Unix()
	}},
	{"email", "email", func(u *User) any { return u.Profile.Email }},
	// email_verified and phone_number_verified go with the value they
	// vouch for, false included, and not without it.
	{"email", "email_verified", func(u *User) any { return verified(u.Profile.Email, u.Profile.EmailVerified) }},
	{"address", "address", func(u *User) any {
		if a := u.Profile.Address; a != nil && *a != (Address{}) {
			return a
		}
		return nil
	}},
	{"phone", "phone_number", func(u *User) any { return u.Profile.PhoneNumber }},
	{"phone", "phone_number_verified", func(u *User) any {
		return verified(u.Profile.PhoneNumber, u.Profile.PhoneNumberVerified)
	}},
}

func verified(value string, ok bool) any {
	if value == "" {
		return nil
	}
	return ok
}

// Claims returns the standard claims of the user with the given subject
// that scopes ask for (OpenID Connect Core §5.4: profile, email, address,
// phone), without "sub"; other scopes add nothing. It fails with
// [ErrNotFound] for an unknown subject. It has the signature of the
// provider's userinfo and ID-token claims hook.
func (d *Directory) Claims(ctx context.Context, subject string, scopes []string) (map[string]any, error) {
	u, err := d.store.User(ctx, subject)
	if err != nil {
		return nil, err
	}
	claims := map[string]any{}
	for _, c := range standardClaims {
		if !slices.Contains(scopes, c.scope) {
			continue
		}
		switch v := c.value(u).(type) {
		case nil:
		case string:
			if v != "" {
				claims[c.name] = v
			}
		case int64:
			if v != 0 {
				claims[c.name] = v
			}
		default:
			claims[c.name] = v
		}
	}
	return claims, nil
}
