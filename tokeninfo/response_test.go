package tokeninfo

import (
	"encoding/json"
	"slices"
	"testing"
)

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

// TestDuplicateMembersRefused is finding 3 of the hardening review (issue
// 9) on the plain JSON path: which of two members of one name counts is up
// to the parser, so none may appear twice, at any depth.
func TestDuplicateMembersRefused(t *testing.T) {
	for _, body := range []string{
		`{"active":false,"active":true}`,
		`{"active":true,"scope":"a","scope":"admin"}`,
		`{"active":true,"aud":"x","\u0061ud":"y"}`,
		`{"active":true,"cnf":{"jkt":"a","jkt":"b"}}`,
	} {
		var r Response
		if err := json.Unmarshal([]byte(body), &r); err == nil {
			t.Errorf("%s decoded as %+v", body, r)
		}
	}
	var r Response
	if err := json.Unmarshal([]byte(`{"active":true,"ACTIVE":false,"Scope":"x"}`), &r); err != nil || !r.Active || r.Scope != "" {
		t.Errorf("names differing in case are distinct members: %+v, %v", r, err)
	}
}
