package rs_test

import (
	"net/http/httptest"
	"testing"

	"github.com/tokengate/tokengate/rs"
)

func TestRequestWithPrincipal(t *testing.T) {
	p, other := &rs.Principal{Subject: "alice"}, &rs.Principal{Subject: "bob"}
	r := httptest.NewRequest("GET", "/", nil)

	if got := rs.RequestWithPrincipal(r, nil); got != r {
		t.Error("a nil principal copied the request")
	}
	withP := rs.RequestWithPrincipal(r, p)
	if withP == r {
		t.Fatal("the principal was not attached")
	}
	if got, ok := rs.PrincipalFrom(withP.Context()); !ok || got != p {
		t.Fatalf("PrincipalFrom = %v, %v; want alice", got, ok)
	}
	if got := rs.RequestWithPrincipal(withP, p); got != withP {
		t.Error("a request already carrying the principal was copied again")
	}
	withOther := rs.RequestWithPrincipal(withP, other)
	if got, _ := rs.PrincipalFrom(withOther.Context()); withOther == withP || got != other {
		t.Errorf("another principal: same request %v, principal %v", withOther == withP, got)
	}
}
