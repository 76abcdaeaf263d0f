package rs

// The Authorization header parser is unexported (the guard always reads the
// header), so its table and fuzz target live inside the package.

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFromHeader(t *testing.T) {
	tests := []struct {
		name    string
		values  []string // Authorization header values
		want    string
		wantErr bool
	}{
		{name: "absent"},
		{name: "bearer", values: []string{"Bearer good"}, want: "good"},
		{name: "lower case scheme", values: []string{"bearer good"}, want: "good"},
		{name: "upper case scheme", values: []string{"BEARER good"}, want: "good"},
		{name: "several spaces", values: []string{"Bearer    good"}, want: "good"},
		{name: "surrounding whitespace", values: []string{"  Bearer good \t"}, want: "good"},
		{name: "b64token alphabet", values: []string{"Bearer aZ09-._~+/=="}, want: "aZ09-._~+/=="},
		{name: "jwt shaped", values: []string{"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.sig"}, want: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.sig"},
		{name: "basic is not ours", values: []string{"Basic dXNlcjpwYXNz"}},
		{name: "DPoP scheme is not ours", values: []string{"DPoP good"}},
		{name: "bearerx is not bearer", values: []string{"Bearerx good"}},
		{name: "empty header", values: []string{""}},
		{name: "bearer alone", values: []string{"Bearer"}, wantErr: true},
		{name: "bearer and space", values: []string{"Bearer "}, wantErr: true},
		{name: "bearer and spaces", values: []string{"Bearer    "}, wantErr: true},
		{name: "tab separator", values: []string{"Bearer\tgood"}, wantErr: true},
		{name: "token with space", values: []string{"Bearer good token"}, wantErr: true},
		{name: "token with comma", values: []string{"Bearer a,Bearer b"}, wantErr: true},
		{name: "token with quote", values: []string{`Bearer "good"`}, wantErr: true},
		{name: "only padding", values: []string{"Bearer =="}, wantErr: true},
		{name: "padding in the middle", values: []string{"Bearer ab=cd"}, wantErr: true},
		{name: "invalid UTF-8", values: []string{"Bearer \xff\xfe\xfd"}, wantErr: true},
		{name: "non-ASCII", values: []string{"Bearer tökén"}, wantErr: true},
		{name: "NUL", values: []string{"Bearer a\x00b"}, wantErr: true},
		{name: "two headers", values: []string{"Bearer a", "Bearer b"}, wantErr: true},
		{name: "two headers, one not bearer", values: []string{"Basic x", "Bearer b"}, wantErr: true},
		{name: "1 MB token", values: []string{"Bearer " + strings.Repeat("A", 1<<20)}, wantErr: true},
		{name: "1 MB of spaces", values: []string{"Bearer " + strings.Repeat(" ", 1<<20) + "x"}, want: "x"},
		{name: "longest token", values: []string{"Bearer " + strings.Repeat("A", MaxTokenLength)}, want: strings.Repeat("A", MaxTokenLength)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for _, v := range tt.values {
				r.Header.Add("Authorization", v)
			}
			got, err := fromHeader(r)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidRequest) || got != "" {
					t.Fatalf("fromHeader = %.20q, %v; want invalid_request", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("fromHeader = %.40q, %v; want %.40q", got, err, tt.want)
			}
		})
	}
}

// FuzzFromHeader checks the Authorization header parser: no panic, a token
// only when it is a b64token behind a Bearer scheme, and every rejection an
// invalid_request.
func FuzzFromHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, value string, twice bool) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Authorization"] = []string{value}
		if twice {
			r.Header["Authorization"] = append(r.Header["Authorization"], value)
		}
		tok, err := fromHeader(r)
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("error %v is not invalid_request", err)
			}
			if tok != "" {
				t.Fatal("token returned with an error")
			}
			return
		}
		if twice {
			t.Fatal("two Authorization headers accepted")
		}
		if tok == "" {
			return
		}
		if len(tok) > MaxTokenLength || strings.ContainsAny(tok, " \t\r\n,\"\\") || strings.TrimRight(tok, "=") == "" {
			t.Fatalf("accepted token %q", tok)
		}
		if !strings.HasSuffix(value, tok) && !strings.HasSuffix(strings.TrimRight(value, " \t"), tok) {
			t.Fatalf("token %q is not the end of %q", tok, value)
		}
		if !strings.EqualFold(strings.TrimLeft(value, " \t")[:6], "bearer") {
			t.Fatalf("token %q accepted from a non-Bearer header %q", tok, value)
		}
	})
}
