package strictjson

import (
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// FuzzUnmarshal compares Unmarshal with encoding/json and with a reference
// that finds duplicate and case-folded names through json.Decoder's
// tokens: a document is refused exactly when encoding/json refuses it or
// the reference finds a bad name, and an accepted one decodes as
// encoding/json decodes it.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"iss":"a","aud":["x"],"token_introspection":{"active":true}}`,
		`{"aud":"other-rs","AUD":"rs-client"}`,
		`{"token_introspection":{"active":false},"TOKEN_INTROSPECTION":{"active":true}}`,
		`{"a":1,"\u0061":2}`,
		"{\"\xff\":1,\"\xfe\":2}",
		`{"ſub":1}`,
		`[{"x":[{"y":1,"y":2}]}]`,
		`{"a":1,}`,
		`"\ud800"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		wantErr := json.Valid(data) == false
		refErr := reference(data)
		var got claims
		err := Unmarshal(data, &got)
		switch {
		case wantErr && err == nil:
			t.Fatalf("accepted invalid JSON %q", data)
		case !wantErr && refErr != nil && err == nil:
			t.Fatalf("accepted %q; the reference says %v", data, refErr)
		case !wantErr && refErr == nil && (errors.Is(err, ErrDuplicateName) || errors.Is(err, ErrFoldedName)):
			t.Fatalf("refused %q (%v); the reference accepts it", data, err)
		case !wantErr && refErr != nil && !errors.Is(err, refErr):
			// Both refuse; the first bad name found may differ in kind only
			// when the document has both kinds.
			if !errors.Is(err, ErrDuplicateName) && !errors.Is(err, ErrFoldedName) {
				t.Fatalf("refused %q with %v; the reference says %v", data, err, refErr)
			}
		}
		if err == nil {
			var want claims
			if jerr := json.Unmarshal(data, &want); jerr != nil {
				t.Fatalf("accepted %q, which encoding/json refuses: %v", data, jerr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded %q as %+v, encoding/json as %+v", data, got, want)
			}
		}
		if cerr := Check(data); (cerr == nil) != (!wantErr && !errors.Is(refErr, ErrDuplicateName)) {
			if !(cerr == nil && errors.Is(refErr, ErrFoldedName)) {
				t.Fatalf("Check(%q) = %v; valid %v, reference %v", data, cerr, !wantErr, refErr)
			}
		}
	})
}

// reference walks a valid document's tokens and reports its first bad
// name for the claims type, checking folding on the members of claims,
// its token_introspection and list elements (type inner) only.
func reference(data []byte) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	type frame struct {
		object bool
		names  map[string]bool
		fields []string // struct fields to check against, nil if none
		key    bool     // the next token in an object is a name
		last   string
	}
	claimsFields := []string{"iss", "aud", "exp", "token_introspection", "extra", "list", "Untagged", "kid"}
	innerFields := []string{"active", "sub"}
	var stack []*frame
	var dupErr, foldErr error
	pathFields := func() []string {
		// Which struct, if any, the object about to open is decoded into.
		switch {
		case len(stack) == 0:
			return claimsFields
		case len(stack) == 1 && stack[0].object && stack[0].last == "token_introspection":
			return innerFields
		case len(stack) == 2 && !stack[1].object && stack[0].object && stack[0].last == "list":
			return innerFields
		}
		return nil
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil // invalid documents are judged by json.Valid
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].key = true
				}
				continue
			}
			name := tok.(string)
			if top.names[name] && dupErr == nil {
				dupErr = ErrDuplicateName
			}
			top.names[name] = true
			if top.fields != nil && foldErr == nil {
				exact, folded := false, false
				for _, f := range top.fields {
					exact = exact || f == name
					folded = folded || strings.EqualFold(f, name)
				}
				if folded && !exact {
					foldErr = ErrFoldedName
				}
			}
			top.key, top.last = false, name
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, names: map[string]bool{}, fields: pathFields(), key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true
		}
	}
	if dupErr != nil {
		return dupErr
	}
	return foldErr
}
