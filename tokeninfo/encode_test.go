package tokeninfo

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzAppendJSONString checks the hand-written string encoder against
// encoding/json, byte for byte.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"uote\back`, "ctl\x00\x01\x1f\n\r\t", "<a&b>", "\u2028\u2029", "ünïcode", "bad\xff\xfeutf8", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

func TestResponseMarshalJSON(t *testing.T) {
	exp := time.Unix(1795694803, 0)
	tests := []struct {
		name string
		resp func() *Response
		want string
	}{
		{
			name: "inactive discloses nothing",
			resp: func() *Response { return &Response{Active: false, Subject: "alice", Scope: "x"} },
			want: `{"active":false}`,
		},
		{
			name: "every named member, in a fixed order",
			resp: func() *Response {
				return &Response{
					Active: true, Scope: "a b", ClientID: "c", Username: "u<>", TokenType: "Bearer",
					Expiry: exp, IssuedAt: exp.Add(-time.Hour), NotBefore: exp.Add(-time.Hour),
					Subject: "s", Audience: []string{"x", "y"}, Issuer: "https://as", JWTID: "j",
					Confirmation: json.RawMessage(`{ "jkt" : "abc" }`),
				}
			},
			want: `{"active":true,"scope":"a b","client_id":"c","username":"u\u003c\u003e","token_type":"Bearer","exp":1795694803,"iat":1795691203,"nbf":1795691203,"sub":"s","aud":["x","y"],"iss":"https://as","jti":"j","cnf":{"jkt":"abc"}}`,
		},
		{
			name: "one audience is a string; extras sorted; an extra cannot shadow a named member",
			resp: func() *Response {
				r := &Response{Active: true, Audience: []string{"api"}}
				r.SetExtra("zeta", json.RawMessage(`[1, 2]`))
				r.SetExtra("alpha", json.RawMessage(`"a"`))
				r.SetExtra("active", json.RawMessage(`false`))
				return r
			},
			want: `{"active":true,"aud":"api","alpha":"a","zeta":[1,2]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.resp().MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Error("output is not valid JSON")
			}
		})
	}
}

func TestResponseMarshalJSONInvalidExtra(t *testing.T) {
	r := &Response{Active: true}
	r.SetExtra("broken", json.RawMessage(`{"unterminated`))
	if _, err := r.MarshalJSON(); err == nil {
		t.Fatal("an invalid extra member was encoded")
	}
}
