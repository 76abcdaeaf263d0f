package strictjson

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unicode"
)

// A plan says what a JSON value is decoded into, as far as member names
// matter: the field names of a struct, or the element of a map, slice or
// array. A nil *plan means names are not matched against anything (an
// interface, a json.Unmarshaler, a scalar): only duplicates are refused.
// Plans point at the plans of what they contain, so a scan does no lookup
// below the top; a recursive type's plan points at itself.
type plan struct {
	// isStruct is true for a struct, whose member names are checked.
	isStruct bool
	// fields are a struct's fields by JSON name, embedded structs' fields
	// included.
	fields []field
	// elem is the plan of a map's, slice's or array's elements.
	elem *plan
}

type field struct {
	name []byte
	plan *plan
}

// plans caches the plan of each type Unmarshal has been given; a plan is
// immutable once stored.
var plans sync.Map // reflect.Type → *plan (nil for opaque types)

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// planFor returns the plan for decoding into t, nil when names do not
// matter.
func planFor(t reflect.Type) *plan {
	if t == nil {
		return nil
	}
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	p := buildPlan(t, map[reflect.Type]*plan{})
	plans.Store(t, p)
	return p
}

// buildPlan returns the plan of t. building holds the plans being built
// further up, so that a type containing itself gets its own plan back.
func buildPlan(t reflect.Type, building map[reflect.Type]*plan) *plan {
	for t.Kind() == reflect.Pointer {
		if t.Implements(jsonUnmarshaler) || t.Implements(textUnmarshaler) {
			return nil
		}
		t = t.Elem()
	}
	if t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
		t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	if p, ok := building[t]; ok {
		return p
	}
	switch t.Kind() {
	case reflect.Struct:
		p := &plan{isStruct: true}
		building[t] = p
		collectFields(t, &p.fields, building, map[reflect.Type]bool{})
		return p
	case reflect.Map, reflect.Slice, reflect.Array:
		p := &plan{}
		building[t] = p
		p.elem = buildPlan(t.Elem(), building)
		return p
	}
	return nil
}

// collectFields appends the JSON names of t's fields as encoding/json
// names them: the tag's name or else the Go name, "-" skipped, and the
// fields of untagged embedded structs promoted. Where encoding/json would
// drop an ambiguous promoted name, both spellings are kept here: keeping a
// name can only accept a member as exact that encoding/json then ignores.
func collectFields(t reflect.Type, out *[]field, building map[reflect.Type]*plan, seen map[reflect.Type]bool) {
	if seen[t] {
		return
	}
	seen[t] = true
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				collectFields(ft, out, building, seen)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" || !validTagName(name) {
			name = sf.Name
		}
		*out = append(*out, field{name: []byte(name), plan: buildPlan(sf.Type, building)})
	}
}

// validTagName mirrors encoding/json's isValidTag: a tag name it does not
// accept leaves the field under its Go name.
func validTagName(s string) bool {
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
