package users_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tokengate/tokengate/provider/users"
)

func ExampleDirectory() {
	ctx := context.Background()
	// provider/users/sqlite.Open gives a store in the provider's database.
	dir, err := users.New(users.Config{Store: users.NewMemory()})
	if err != nil {
		panic(err)
	}
	if _, err := dir.Create(ctx, "alice", "correct horse battery", users.Profile{Name: "Alice", Email: "alice@example.com"}); err != nil {
		panic(err)
	}

	u, err := dir.Authenticate(ctx, "alice", "correct horse battery", "192.0.2.1")
	fmt.Println(u.Username, err)
	_, err = dir.Authenticate(ctx, "alice", "wrong", "192.0.2.1")
	fmt.Println(errors.Is(err, users.ErrInvalidCredentials))
	_, err = dir.Authenticate(ctx, "nobody", "wrong", "192.0.2.1")
	fmt.Println(err)

	// The provider's userinfo endpoint asks for claims by scope.
	claims, _ := dir.Claims(ctx, u.Subject, []string{"openid", "email"})
	fmt.Println(claims)
	// Output:
	// alice <nil>
	// true
	// users: wrong username or password
	// map[email:alice@example.com email_verified:false]
}
