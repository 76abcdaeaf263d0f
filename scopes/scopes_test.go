package scopes

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string // String() of the set
		wantLen int
		wantErr bool
	}{
		{name: "empty", in: "", want: "", wantLen: 0},
		{name: "only spaces", in: "   ", want: "", wantLen: 0},
		{name: "one", in: "read", want: "read", wantLen: 1},
		{name: "sorted", in: "write read", want: "read write", wantLen: 2},
		{name: "repeated spaces", in: "  a   b  ", want: "a b", wantLen: 2},
		{name: "duplicates", in: "a b a", want: "a b", wantLen: 2},
		{name: "case sensitive", in: "A a", want: "A a", wantLen: 2},
		{name: "all allowed punctuation", in: "!#$%&'()*+,-./:;<=>?@[]^_`{|}~", want: "!#$%&'()*+,-./:;<=>?@[]^_`{|}~", wantLen: 1},
		{name: "colon and dot", in: "orders:read orders.write", want: "orders.write orders:read", wantLen: 2},
		{name: "tab is not a separator", in: "a\tb", wantErr: true},
		{name: "newline", in: "a\nb", wantErr: true},
		{name: "double quote", in: `a"b`, wantErr: true},
		{name: "backslash", in: `a\b`, wantErr: true},
		{name: "DEL", in: "a\x7f", wantErr: true},
		{name: "NUL", in: "a\x00", wantErr: true},
		{name: "non-ASCII", in: "café", wantErr: true},
		{name: "invalid UTF-8", in: "a \xff\xfe", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidScope) {
					t.Fatalf("Parse(%q) error = %v, want ErrInvalidScope", tt.in, err)
				}
				if got.Len() != 0 {
					t.Errorf("Parse(%q) returned a non-empty set with an error", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got.String() != tt.want || got.Len() != tt.wantLen {
				t.Errorf("Parse(%q) = %q (len %d), want %q (len %d)", tt.in, got, got.Len(), tt.want, tt.wantLen)
			}
		})
	}
}

func TestSet(t *testing.T) {
	s, err := NewSet("b", "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Has("a") || !s.Has("b") || s.Has("c") || s.Has("") {
		t.Errorf("Has on %q is wrong", s)
	}
	l := s.List()
	l[0] = "mutated"
	if !s.Has("a") {
		t.Error("List exposed the internal slice")
	}
	if _, err := NewSet("a b"); !errors.Is(err, ErrInvalidScope) {
		t.Errorf("NewSet with a space: err = %v", err)
	}
	if _, err := NewSet(""); !errors.Is(err, ErrInvalidScope) {
		t.Errorf("NewSet with an empty token: err = %v", err)
	}
	var zero Set
	if zero.Len() != 0 || zero.Has("a") || zero.String() != "" {
		t.Error("zero Set is not empty")
	}
	var u Set
	if err := u.UnmarshalText([]byte("x y")); err != nil || u.String() != "x y" {
		t.Errorf("UnmarshalText = %q, %v", u, err)
	}
	if err := u.UnmarshalText([]byte("x\ty")); err == nil {
		t.Error("UnmarshalText accepted a tab")
	}
	if b, _ := u.MarshalText(); string(b) != "x y" {
		t.Errorf("MarshalText = %q", b)
	}
}

func TestStrategyGrants(t *testing.T) {
	tests := []struct {
		name     string
		strategy Strategy
		granted  string
		required string
		want     bool
	}{
		{"exact equal", Exact, "orders:read", "orders:read", true},
		{"exact other", Exact, "orders:write", "orders:read", false},
		{"exact no prefix", Exact, "orders", "orders.read", false},
		{"exact star is literal", Exact, "orders.*", "orders.read", false},
		{"exact star equal", Exact, "orders.*", "orders.*", true},
		{"exact case", Exact, "Orders", "orders", false},
		{"exact empty required", Exact, "a", "", false},

		{"hier self", Hierarchic, "orders", "orders", true},
		{"hier child", Hierarchic, "orders", "orders.read", true},
		{"hier grandchild", Hierarchic, "orders", "orders.read.own", true},
		{"hier mid level", Hierarchic, "orders.read", "orders.read.own", true},
		{"hier parent not granted by child", Hierarchic, "orders.read", "orders", false},
		{"hier sibling", Hierarchic, "orders.read", "orders.write", false},
		{"hier colon is not a level", Hierarchic, "orders", "orders:read", false},
		{"hier not a string prefix", Hierarchic, "orders", "ordersx", false},
		{"hier not a string prefix with dot", Hierarchic, "order", "orders.read", false},

		{"wild one segment", Wildcard, "orders.*", "orders.read", true},
		{"wild trailing covers rest", Wildcard, "orders.*", "orders.read.own", true},
		{"wild not the parent", Wildcard, "orders.*", "orders", false},
		{"wild empty segment", Wildcard, "orders.*", "orders.", false},
		{"wild middle", Wildcard, "orders.*.own", "orders.read.own", true},
		{"wild middle too deep", Wildcard, "orders.*.own", "orders.read.x.own", false},
		{"wild middle wrong tail", Wildcard, "orders.*.own", "orders.read.all", false},
		{"wild leading", Wildcard, "*.read", "orders.read", true},
		{"wild other root", Wildcard, "orders.*", "users.read", false},
		{"wild star alone grants all", Wildcard, "*", "anything.at.all", true},
		{"wild exact still works", Wildcard, "orders:read", "orders:read", true},
		{"wild no hierarchy", Wildcard, "orders", "orders.read", false},
		{"wild pattern longer", Wildcard, "a.b.*", "a.b", false},

		{"undefined strategy", Strategy(42), "a", "a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Parse(tt.granted)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.strategy.Grants(g, tt.required); got != tt.want {
				t.Errorf("%v.Grants(%q, %q) = %v, want %v", tt.strategy, tt.granted, tt.required, got, tt.want)
			}
		})
	}
}

func TestStrategyString(t *testing.T) {
	for s, want := range map[Strategy]string{Exact: "exact", Hierarchic: "hierarchic", Wildcard: "wildcard", Strategy(7): "Strategy(7)", Strategy(-1): "Strategy(-1)"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(s), s.String(), want)
		}
	}
	var zero Strategy
	if zero != Exact {
		t.Error("the zero Strategy is not Exact")
	}
}

func TestRequirement(t *testing.T) {
	tests := []struct {
		name      string
		req       Requirement
		strategy  Strategy
		granted   string
		want      bool
		wantStr   string
		wantExpr  string
		wantNames string
	}{
		{name: "zero", req: Requirement{}, granted: "", want: true, wantStr: "", wantExpr: "", wantNames: ""},
		{name: "all met", req: All("a", "b"), granted: "b a c", want: true, wantStr: "a b", wantExpr: "a and b", wantNames: "a b"},
		{name: "all partly met", req: All("a", "b"), granted: "a", want: false, wantStr: "a b", wantExpr: "a and b", wantNames: "a b"},
		{name: "any met by second", req: Any("a", "b"), granted: "b", want: true, wantStr: "a", wantExpr: "a or b", wantNames: "a b"},
		{name: "any unmet", req: Any("a", "b"), granted: "c", want: false, wantStr: "a", wantExpr: "a or b", wantNames: "a b"},
		{name: "empty All", req: All(), granted: "", want: true, wantStr: "", wantExpr: "", wantNames: ""},
		{
			name: "composed met", req: AllOf(Any("a", "b"), All("c")), granted: "b c", want: true,
			wantStr: "a c", wantExpr: "(a or b) and c", wantNames: "a b c",
		},
		{
			name: "composed unmet", req: AllOf(Any("a", "b"), All("c")), granted: "a b", want: false,
			wantStr: "a c", wantExpr: "(a or b) and c", wantNames: "a b c",
		},
		{
			name: "or of ands", req: AnyOf(All("a", "b"), All("c")), granted: "c", want: true,
			wantStr: "a b", wantExpr: "(a and b) or c", wantNames: "a b c",
		},
		{
			name: "or of ands unmet", req: AnyOf(All("a", "b"), All("c")), granted: "a", want: false,
			wantStr: "a b", wantExpr: "(a and b) or c", wantNames: "a b c",
		},
		{
			name: "dedup in String", req: AllOf(All("a"), Any("a", "b"), All("c", "a")), granted: "a c", want: true,
			wantStr: "a c", wantExpr: "a and (a or b) and (c and a)", wantNames: "a b c",
		},
		{name: "hierarchic", req: All("orders.read"), strategy: Hierarchic, granted: "orders", want: true, wantStr: "orders.read", wantExpr: "orders.read", wantNames: "orders.read"},
		{name: "wildcard", req: Any("orders.read", "admin"), strategy: Wildcard, granted: "orders.*", want: true, wantStr: "orders.read", wantExpr: "orders.read or admin", wantNames: "orders.read admin"},
		{name: "AllOf zero", req: AllOf(Requirement{}, All("a")), granted: "a", want: true, wantStr: "a", wantExpr: "a", wantNames: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Parse(tt.granted)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.req.SatisfiedBy(g, tt.strategy); got != tt.want {
				t.Errorf("SatisfiedBy(%q) = %v, want %v", tt.granted, got, tt.want)
			}
			if got := tt.req.String(); got != tt.wantStr {
				t.Errorf("String() = %q, want %q", got, tt.wantStr)
			}
			if got := tt.req.Expr(); got != tt.wantExpr {
				t.Errorf("Expr() = %q, want %q", got, tt.wantExpr)
			}
			if got := strings.Join(tt.req.Scopes(), " "); got != tt.wantNames {
				t.Errorf("Scopes() = %q, want %q", got, tt.wantNames)
			}
			// What String prints must satisfy the requirement on its own.
			printed, err := Parse(tt.req.String())
			if err != nil {
				t.Fatal(err)
			}
			if !tt.req.SatisfiedBy(printed, Exact) {
				t.Errorf("String() = %q does not satisfy its own requirement", tt.req.String())
			}
		})
	}
}

func TestRequirementPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"All with space", func() { All("a b") }},
		{"All with empty", func() { All("") }},
		{"Any with quote", func() { Any(`a"`) }},
		{"Any empty", func() { Any() }},
		{"AnyOf empty", func() { AnyOf() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			tt.f()
		})
	}
}

func TestRequirementIsImmutable(t *testing.T) {
	in := []string{"a", "b"}
	r := All(in...)
	in[0] = "z"
	if r.String() != "a b" {
		t.Errorf("All kept the caller's slice: %q", r)
	}
}

// FuzzParse checks that Parse never panics, that it accepts exactly the RFC
// 6749 grammar (plus extra spaces) and that String round-trips.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		set, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidScope) {
				t.Fatalf("error %v does not match ErrInvalidScope", err)
			}
			for i := 0; i < len(s); i++ {
				if s[i] != ' ' && !isScopeChar(s[i]) {
					return
				}
			}
			t.Fatalf("Parse(%q) rejected a valid string: %v", s, err)
		}
		if !utf8.ValidString(set.String()) {
			t.Fatalf("Parse(%q) produced invalid UTF-8", s)
		}
		again, err := Parse(set.String())
		if err != nil || again.String() != set.String() {
			t.Fatalf("round trip of %q: %q, %v", s, again, err)
		}
		for _, sc := range set.List() {
			if sc == "" || !strings.Contains(" "+s+" ", " "+sc+" ") {
				t.Fatalf("Parse(%q) produced %q, not a token of the input", s, sc)
			}
			if !Exact.Grants(set, sc) || !Hierarchic.Grants(set, sc) || !Wildcard.Grants(set, sc) {
				t.Fatalf("a scope does not grant itself: %q", sc)
			}
			_ = Wildcard.Grants(set, sc+".x")
		}
	})
}
