package introspect

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSleepCtx(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepCtx(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleepCtx on a cancelled ctx = %v", err)
	}
	if err := sleepCtx(context.Background(), time.Nanosecond); err != nil {
		t.Errorf("sleepCtx = %v", err)
	}
}

func TestEventKindString(t *testing.T) {
	seen := map[string]bool{}
	for k := EventCacheHit; k <= EventShed; k++ {
		s := k.String()
		if s == "unknown" || seen[s] {
			t.Errorf("EventKind(%d).String() = %q", k, s)
		}
		seen[s] = true
	}
	if EventKind(0).String() != "unknown" {
		t.Error("zero EventKind has a name")
	}
}

func TestCircuitOpenError(t *testing.T) {
	err := error(&refusedError{reason: "circuit open after repeated failures", retryAfter: 3 * time.Second})
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInactive) || !strings.Contains(err.Error(), "circuit open") {
		t.Errorf("circuitOpenError = %v", err)
	}
	if RetryAfterHint(err) != 3*time.Second {
		t.Errorf("RetryAfterHint = %v", RetryAfterHint(err))
	}
}

func TestResponseExtras(t *testing.T) {
	var r Response
	if err := json.Unmarshal([]byte(`{"active":true,"tenant":"acme","roles":["a","b"],"cnf":{"jkt":"x"}}`), &r); err != nil {
		t.Fatal(err)
	}
	var roles []string
	if err := r.Claim("roles", &roles); err != nil || !slices.Equal(roles, []string{"a", "b"}) {
		t.Errorf("Claim(roles) = %v, %v", roles, err)
	}
	if raw, ok := r.Extra("tenant"); !ok || string(raw) != `"acme"` {
		t.Errorf("Extra(tenant) = %s, %v", raw, ok)
	}
	if _, ok := r.Extra("cnf"); ok {
		t.Error("cnf is a field, not an extra")
	}
	if err := r.Claim("missing", &roles); err == nil {
		t.Error("Claim of a missing member succeeded")
	}
	names := r.ExtraNames()
	slices.Sort(names)
	if !slices.Equal(names, []string{"roles", "tenant"}) {
		t.Errorf("ExtraNames = %v", names)
	}
}
