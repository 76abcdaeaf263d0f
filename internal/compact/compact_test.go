package compact

import (
	"encoding/base64"
	"errors"
	"testing"
)

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestParts(t *testing.T) {
	for _, tt := range []struct {
		in string
		n  int // 0: malformed
	}{
		{"a.b.c", 3}, {"a..", 3}, {"a.b.c.d.e", 5}, {"a.b", 0}, {"a.b.c.d", 0}, {".b.c", 0}, {"a.b=.c", 0}, {"a.b+.c", 0}, {"a.b/.c", 0},
	} {
		parts, err := Parts(tt.in)
		if (tt.n == 0) != (err != nil) || (tt.n != 0 && len(parts) != tt.n) {
			t.Errorf("Parts(%q) = %d parts, %v; want %d", tt.in, len(parts), err, tt.n)
		}
	}
}

func TestParseHeader(t *testing.T) {
	h, err := ParseHeader(enc(`{"alg":"ES256","kid":"k","typ":"at+jwt","crit":["x"],"x":1}`))
	if err != nil || h.Alg != "ES256" || h.Kid != "k" || h.Typ != "at+jwt" || !h.Crit || h.Zip || len(h.Names) != 5 {
		t.Fatalf("ParseHeader = %+v, %v", h, err)
	}
	for _, bad := range []string{enc(`{"alg":"ES256","alg":"none"}`), enc(`{"alg":1}`), enc(`null`), enc(`[]`), "e30=", "!!", enc(`{"kid":"a"`)} {
		if _, err := ParseHeader(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseHeader(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestIssuer(t *testing.T) {
	if iss, err := Issuer(enc(`{"iss":"https://a","sub":"x"}`)); err != nil || iss != "https://a" {
		t.Fatalf("Issuer = %q, %v", iss, err)
	}
	if iss, err := Issuer(enc(`{"sub":"x"}`)); err != nil || iss != "" {
		t.Fatalf("Issuer without iss = %q, %v", iss, err)
	}
	for _, bad := range []string{enc(`{"iss":"a","iss":"b"}`), enc(`{"iss":"a","ISS":"b"}`), enc(`{"iss":1}`), enc(`x`), "!!"} {
		if _, err := Issuer(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("Issuer(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestIsType(t *testing.T) {
	for _, tt := range []struct {
		typ  string
		want bool
	}{{"at+jwt", true}, {"AT+JWT", true}, {"application/at+jwt", true}, {"Application/At+Jwt", true}, {"application/", false}, {"JWT", false}, {"at+jwt ", false}, {"", false}} {
		if got := IsType(tt.typ, "at+jwt"); got != tt.want {
			t.Errorf("IsType(%q) = %v", tt.typ, got)
		}
	}
}
