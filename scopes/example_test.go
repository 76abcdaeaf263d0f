package scopes_test

import (
	"fmt"

	"github.com/tokengate/tokengate/scopes"
)

func ExampleParse() {
	granted, err := scopes.Parse("orders:read  profile")
	if err != nil {
		panic(err)
	}
	fmt.Println(granted.Len(), granted.Has("orders:read"), granted)

	_, err = scopes.Parse("orders:read\tprofile")
	fmt.Println(err)
	// Output:
	// 2 true orders:read profile
	// scopes: invalid scope: byte 0x09 at offset 11
}

func ExampleRequirement() {
	req := scopes.AllOf(scopes.All("orders:read"), scopes.Any("orders:admin", "support"))
	granted, _ := scopes.Parse("orders:read support")

	fmt.Println(req.SatisfiedBy(granted, scopes.Exact))
	fmt.Println(req.Expr())
	fmt.Println(req) // what an insufficient_scope challenge prints
	// Output:
	// true
	// orders:read and (orders:admin or support)
	// orders:read orders:admin
}

func ExampleStrategy() {
	granted, _ := scopes.Parse("orders billing.*")
	for _, s := range []scopes.Strategy{scopes.Exact, scopes.Hierarchic, scopes.Wildcard} {
		fmt.Println(s, s.Grants(granted, "orders.read"), s.Grants(granted, "billing.invoices"))
	}
	// Output:
	// exact false false
	// hierarchic true false
	// wildcard false true
}
