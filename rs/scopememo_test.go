package rs

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/tokengate/tokengate/scopes"
)

func TestScopeMemo(t *testing.T) {
	var m scopeMemo
	for _, s := range []string{"", "a", "b a", "a b", "  a   b "} {
		got, err := m.parse(s)
		want, _ := scopes.Parse(s)
		if err != nil || got.String() != want.String() {
			t.Errorf("parse(%q) = %q, %v; want %q", s, got, err, want)
		}
		again, _ := m.parse(s)
		if again.String() != want.String() {
			t.Errorf("second parse(%q) = %q, want %q", s, again, want)
		}
	}
	if n := len(*m.sets.Load()); n != 5 {
		t.Errorf("memo holds %d strings, want 5", n)
	}
	if _, err := m.parse("bad\tscope"); !errors.Is(err, scopes.ErrInvalidScope) {
		t.Errorf("parse of an invalid string: err = %v, want ErrInvalidScope", err)
	}
	if _, err := m.parse("bad\tscope"); !errors.Is(err, scopes.ErrInvalidScope) {
		t.Errorf("an invalid string was remembered as valid: err = %v", err)
	}
}

func TestScopeMemoIsBounded(t *testing.T) {
	var m scopeMemo
	for i := range maxMemoScopes + 100 {
		s := fmt.Sprintf("orders:%d", i)
		got, err := m.parse(s)
		if err != nil || !got.Has(s) || got.Len() != 1 {
			t.Fatalf("parse(%q) = %q, %v", s, got, err)
		}
	}
	if n := len(*m.sets.Load()); n != maxMemoScopes {
		t.Errorf("memo holds %d strings, want the bound %d", n, maxMemoScopes)
	}
}

func TestScopeMemoConcurrent(t *testing.T) {
	var m scopeMemo
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				s := fmt.Sprintf("s%d s%d", i%20, g)
				want, _ := scopes.Parse(s)
				if got, err := m.parse(s); err != nil || got.String() != want.String() {
					t.Errorf("parse(%q) = %q, %v; want %q", s, got, err, want)
				}
			}
		}()
	}
	wg.Wait()
}
