package strictjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// claims stands for the structs tokengate decodes from the network: tagged
// fields, a pointer, raw members, a nested struct and a map.
type claims struct {
	Issuer   *string                    `json:"iss"`
	Audience json.RawMessage            `json:"aud"`
	Expiry   *json.Number               `json:"exp"`
	Inner    *inner                     `json:"token_introspection"`
	Extra    map[string]json.RawMessage `json:"extra"`
	List     []inner                    `json:"list"`
	Untagged string
	Skipped  string `json:"-"`
	embedded
}

type inner struct {
	Active bool   `json:"active"`
	Sub    string `json:"sub"`
}

type embedded struct {
	Kid string `json:"kid"`
}

func TestUnmarshal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error // nil: accepted, and decoded as encoding/json decodes it
	}{
		{"exact names", `{"iss":"a","aud":["x"],"exp":1,"token_introspection":{"active":true,"sub":"s"},"kid":"k","Untagged":"u"}`, nil},
		{"unknown members are ignored", `{"iss":"a","whatever":{"Iss":1,"iss":2}}`, nil},
		{"member named like a skipped field", `{"Skipped":"x","skipped":"y"}`, nil},
		{"empty object", `{}`, nil},
		{"null", `null`, nil},
		{"whitespace around", " \t\r\n{ \"iss\" : \"a\" } \n", nil},

		{"duplicate top-level member", `{"iss":"a","iss":"b"}`, ErrDuplicateName},
		{"duplicate spelled with an escape", `{"iss":"a","\u0069ss":"b"}`, ErrDuplicateName},
		{"duplicate in a raw member", `{"aud":{"x":1,"x":2}}`, ErrDuplicateName},
		{"duplicate in a nested struct", `{"token_introspection":{"active":false,"active":true}}`, ErrDuplicateName},
		{"duplicate in an array element", `{"list":[{},{"sub":"a","sub":"b"}]}`, ErrDuplicateName},
		{"duplicate in an ignored member", `{"whatever":{"a":1,"a":2}}`, ErrDuplicateName},
		{"duplicate in a map", `{"extra":{"k":1,"k":2}}`, ErrDuplicateName},
		{"duplicate invalid UTF-8 names (both U+FFFD)", "{\"\xff\":1,\"\xfe\":2}", ErrDuplicateName},
		{"duplicate after many members", `{` + manyMembers(40) + `,"m7":0}`, ErrDuplicateName},

		{"upper-case claim", `{"iss":"a","ISS":"b"}`, ErrFoldedName},
		{"upper-case claim alone", `{"AUD":"rs"}`, ErrFoldedName},
		{"upper-case member of a nested struct", `{"token_introspection":{"active":false,"ACTIVE":true}}`, ErrFoldedName},
		{"upper-case member of an array element", `{"list":[{"Sub":"x"}]}`, ErrFoldedName},
		{"Unicode folding: long s", `{"token_introspection":{"ſub":"x"}}`, ErrFoldedName},
		{"Unicode folding: Kelvin sign", `{"\u212aid":"x"}`, ErrFoldedName},
		{"embedded field folded", `{"KID":"x"}`, ErrFoldedName},
		{"untagged field folded", `{"untagged":"x"}`, ErrFoldedName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got claims
			err := Unmarshal([]byte(tt.in), &got)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Unmarshal(%s) = %v, want %v", tt.in, err, tt.want)
				}
				if !reflect.DeepEqual(got, claims{}) {
					t.Fatalf("the target was written despite the error: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s) = %v", tt.in, err)
			}
			var want claims
			if err := json.Unmarshal([]byte(tt.in), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, encoding/json gives %+v", got, want)
			}
		})
	}
}

// manyMembers returns n members "m0" to "m<n-1>", more than are compared
// one by one.
func manyMembers(n int) string {
	members := make([]string, n)
	for i := range members {
		members[i] = fmt.Sprintf(`"m%d":0`, i)
	}
	return strings.Join(members, ",")
}

func TestMapsMatchExactly(t *testing.T) {
	var m map[string]json.RawMessage
	if err := Unmarshal([]byte(`{"alg":"ES256","ALG":"none"}`), &m); err != nil {
		t.Fatalf("names differing in case are distinct map keys: %v", err)
	}
	if string(m["alg"]) != `"ES256"` || string(m["ALG"]) != `"none"` {
		t.Fatalf("got %v", m)
	}
	if err := Unmarshal([]byte(`{"alg":"ES256","alg":"none"}`), &m); !errors.Is(err, ErrDuplicateName) {
		t.Fatalf("Unmarshal = %v, want ErrDuplicateName", err)
	}
}

func TestRecursiveType(t *testing.T) {
	type node struct {
		Name     string  `json:"name"`
		Children []*node `json:"children"`
	}
	var n node
	if err := Unmarshal([]byte(`{"name":"a","children":[{"name":"b","children":[{"name":"c"}]}]}`), &n); err != nil {
		t.Fatal(err)
	}
	if n.Children[0].Children[0].Name != "c" {
		t.Fatalf("got %+v", n)
	}
	err := Unmarshal([]byte(`{"name":"a","children":[{"name":"b","children":[{"NAME":"c"}]}]}`), &n)
	if !errors.Is(err, ErrFoldedName) {
		t.Fatalf("Unmarshal = %v, want ErrFoldedName", err)
	}
}

func TestUnmarshalerIsOpaque(t *testing.T) {
	// A json.Unmarshaler reads the names itself; only duplicates are refused.
	var v struct {
		T opaque `json:"t"`
	}
	if err := Unmarshal([]byte(`{"t":{"X":1,"x":2}}`), &v); err != nil {
		t.Fatal(err)
	}
	if err := Unmarshal([]byte(`{"t":{"x":1,"x":2}}`), &v); !errors.Is(err, ErrDuplicateName) {
		t.Fatalf("Unmarshal = %v, want ErrDuplicateName", err)
	}
}

type opaque struct{ raw []byte }

func (o *opaque) UnmarshalJSON(b []byte) error { o.raw = append([]byte(nil), b...); return nil }

func TestSyntaxErrorsAreEncodingJSONs(t *testing.T) {
	for _, in := range []string{``, `{`, `{"a"}`, `{"a":1,}`, `[1,]`, `01`, `1.`, `-`, `"\x"`, `"\u12"`, "\"\x01\"", `tru`, `{} {}`, `{"a":1}x`, strings.Repeat(`[`, maxDepth+1) + strings.Repeat(`]`, maxDepth+1)} {
		var v any
		err := Unmarshal([]byte(in), &v)
		var syn *json.SyntaxError
		if !errors.As(err, &syn) {
			t.Errorf("Unmarshal(%.40q) = %v, want a *json.SyntaxError", in, err)
		}
		if err := Check([]byte(in)); !errors.As(err, &syn) {
			t.Errorf("Check(%.40q) = %v, want a *json.SyntaxError", in, err)
		}
	}
}

func TestTypeErrorsAreEncodingJSONs(t *testing.T) {
	var v claims
	var typ *json.UnmarshalTypeError
	if err := Unmarshal([]byte(`{"iss":1}`), &v); !errors.As(err, &typ) {
		t.Fatalf("Unmarshal = %v, want a *json.UnmarshalTypeError", err)
	}
}

func TestCheck(t *testing.T) {
	if err := Check([]byte(`{"a":{"b":[{"c":1,"C":2}]},"A":null}`)); err != nil {
		t.Fatalf("Check refused distinct names: %v", err)
	}
	if err := Check([]byte(`{"a":{"b":[{"c":1,"c":2}]}}`)); !errors.Is(err, ErrDuplicateName) {
		t.Fatalf("Check = %v, want ErrDuplicateName", err)
	}
}

func TestDeepNestingWithinTheLimit(t *testing.T) {
	in := strings.Repeat(`[`, maxDepth) + strings.Repeat(`]`, maxDepth)
	var v any
	if err := Unmarshal([]byte(in), &v); err != nil {
		t.Fatalf("nesting of %d, as encoding/json allows: %v", maxDepth, err)
	}
}
