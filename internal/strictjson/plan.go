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
// matter: the field names of a struct, or the element type of a map, slice
// or array. A nil *plan means names are not matched against anything (an
// interface, a json.Unmarshaler, a scalar): only duplicates are refused.
type plan struct {
	// fields are the JSON names of a struct's fields, embedded structs'
	// fields included; nil for a map, slice or array.
	fields []field
	// isStruct is true for a struct, whose member names are checked.
	isStruct bool
	// elem is the element type of a map, slice or array.
	elem reflect.Type
}

type field struct {
	name []byte
	typ  reflect.Type
}

// plans caches a *plan per reflect.Type; built plans are immutable.
var plans sync.Map // reflect.Type → *plan (nil for opaque types)

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// planFor returns the plan for decoding into t, nil when names do not
// matter. Plans refer to the types they contain, not to their plans, so a
// recursive type needs no special care.
func planFor(t reflect.Type) *plan {
	if t == nil {
		return nil
	}
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	p := buildPlan(t)
	plans.Store(t, p)
	return p
}

func buildPlan(t reflect.Type) *plan {
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
	switch t.Kind() {
	case reflect.Struct:
		p := &plan{isStruct: true}
		collectFields(t, &p.fields, map[reflect.Type]bool{})
		return p
	case reflect.Map, reflect.Slice, reflect.Array:
		return &plan{elem: t.Elem()}
	}
	return nil
}

// collectFields appends the JSON names of t's fields as encoding/json
// names them: the tag's name or else the Go name, "-" skipped, and the
// fields of untagged embedded structs promoted. Where encoding/json would
// drop an ambiguous promoted name, both spellings are kept here: keeping a
// name can only accept a member as exact that encoding/json then ignores.
func collectFields(t reflect.Type, out *[]field, seen map[reflect.Type]bool) {
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
				collectFields(ft, out, seen)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" || !validTagName(name) {
			name = sf.Name
		}
		*out = append(*out, field{name: []byte(name), typ: sf.Type})
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
