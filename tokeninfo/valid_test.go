package tokeninfo

import (
	"errors"
	"testing"
	"time"
)

func TestValidAt(t *testing.T) {
	const skew = 30 * time.Second
	exp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	nbf := exp.Add(-time.Hour)
	bounded := &Response{Active: true, Expiry: exp, NotBefore: nbf}
	tests := []struct {
		name string
		resp *Response
		now  time.Time
		skew time.Duration
		want error // nil: valid
	}{
		{"inside", bounded, exp.Add(-time.Minute), skew, nil},
		{"inactive", &Response{Active: false, Expiry: exp}, exp.Add(-time.Minute), skew, ErrNotActive},
		{"inactive without times", &Response{}, exp, skew, ErrNotActive},
		{"no exp, no nbf", &Response{Active: true}, time.Unix(1<<40, 0), skew, nil},
		{"exp: last instant within skew", bounded, exp.Add(skew - time.Nanosecond), skew, nil},
		{"exp: exactly exp+skew is expired", bounded, exp.Add(skew), skew, ErrExpired},
		{"exp: after exp+skew", bounded, exp.Add(skew + time.Second), skew, ErrExpired},
		{"exp: exactly exp without skew is expired", bounded, exp, 0, ErrExpired},
		{"exp: just before exp without skew", bounded, exp.Add(-time.Nanosecond), 0, nil},
		{"nbf: exactly nbf-skew is valid", bounded, nbf.Add(-skew), skew, nil},
		{"nbf: just before nbf-skew", bounded, nbf.Add(-skew - time.Nanosecond), skew, ErrNotYetValid},
		{"nbf: exactly nbf without skew is valid", bounded, nbf, 0, nil},
		{"nbf: just before nbf without skew", bounded, nbf.Add(-time.Nanosecond), 0, ErrNotYetValid},
		{"nbf only", &Response{Active: true, NotBefore: nbf}, nbf.Add(-time.Hour), skew, ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.resp.ValidAt(tt.now, tt.skew)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ValidAt = %v, want valid", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("ValidAt = %v, want %v", err, tt.want)
			}
			for _, other := range []error{ErrNotActive, ErrExpired, ErrNotYetValid} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("ValidAt = %v matches %v too", err, other)
				}
			}
		})
	}
}

func TestValidAtDoesNotAllocate(t *testing.T) {
	r := &Response{Active: true, Expiry: time.Unix(2000, 0), NotBefore: time.Unix(1000, 0)}
	now := time.Unix(1500, 0)
	if n := testing.AllocsPerRun(100, func() {
		if r.ValidAt(now, time.Second) != nil {
			t.Fatal("invalid")
		}
	}); n != 0 {
		t.Errorf("ValidAt of a valid token allocates %.0f times", n)
	}
}
