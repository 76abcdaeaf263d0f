package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokengate/tokengate/provider"
)

// TestServeLimits runs serve with a token quota of 2, one failed
// authentication allowed per client and address, and the client's address
// taken from X-Real-IP: the third token is refused with 429, and a second
// wrong secret from one address is 429 while one from another address is
// still 401.
func TestServeLimits(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tokengate.db")
	issuer, stop := startServe(t, "--addr", "127.0.0.1:0", "--db", db,
		"--tokens-per-minute", "2", "--auth-failures-per-minute", "1", "--client-address-header", "X-Real-IP")
	defer stop()
	id, secret := createClient(t, db, "--name", "app", "--scopes", "read")
	post := func(secret, address string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, issuer+"/token",
			strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Real-IP", address)
		req.SetBasicAuth(id, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, want := range []int{200, 200, 429} {
		if got := post(secret, "192.0.2.1"); got != want {
			t.Errorf("token %d: %d, want %d", i+1, got, want)
		}
	}
	for i, c := range []struct {
		address string
		want    int
	}{{"198.51.100.7", 401}, {"198.51.100.7", 429}, {"198.51.100.8", 401}} {
		if got := post("wrong", c.address); got != c.want {
			t.Errorf("wrong secret %d from %s: %d, want %d", i+1, c.address, got, c.want)
		}
	}
}

// TestServeLimitsFlags: the flags and their variables reach the provider's
// Config, the flag winning over its variable, and bad values are usage
// errors.
func TestServeLimitsFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		vars    map[string]string
		want    [2]int // AuthFailuresPerMinute, TokensPerMinute
		header  string // ClientAddress's header, "" for none
		wantErr string
	}{
		{name: "defaults", want: [2]int{provider.DefaultAuthFailuresPerMinute, provider.DefaultTokensPerMinute}},
		{name: "flags", args: []string{"--auth-failures-per-minute", "3", "--tokens-per-minute", "60", "--client-address-header", "X-Forwarded-For"},
			want: [2]int{3, 60}, header: "X-Forwarded-For"},
		{name: "variables", vars: map[string]string{"TOKENGATE_AUTH_FAILURES_PER_MINUTE": "4", "TOKENGATE_TOKENS_PER_MINUTE": "70",
			"TOKENGATE_CLIENT_ADDRESS_HEADER": "X-Real-IP"}, want: [2]int{4, 70}, header: "X-Real-IP"},
		{name: "flag over variable", args: []string{"--tokens-per-minute", "5"}, vars: map[string]string{"TOKENGATE_TOKENS_PER_MINUTE": "70"},
			want: [2]int{provider.DefaultAuthFailuresPerMinute, 5}},
		{name: "zero quota", args: []string{"--tokens-per-minute", "0"}, wantErr: "--tokens-per-minute must be positive"},
		{name: "negative failures", vars: map[string]string{"TOKENGATE_AUTH_FAILURES_PER_MINUTE": "-1"},
			wantErr: "TOKENGATE_AUTH_FAILURES_PER_MINUTE must be positive"},
		{name: "not a number", args: []string{"--tokens-per-minute", "many"}, wantErr: "tokens-per-minute"},
		{name: "bad header", args: []string{"--client-address-header", "X Real IP"}, wantErr: "is not a header name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			e := &env{stdout: io.Discard, stderr: &stderr, getenv: func(k string) string { return tt.vars[k] }}
			fs := newFlagSet(e, "serve", "", "")
			l := addServeLimits(fs)
			code, ok := fs.parseNoArgs(tt.args)
			msg := stderr.String() // what parsing refused
			if ok {
				msg = l.check(fs)
			}
			if tt.wantErr != "" {
				if !strings.Contains(msg, tt.wantErr) {
					t.Errorf("error %q (code %d), want %q in it", msg, code, tt.wantErr)
				}
				return
			}
			if !ok || msg != "" {
				t.Fatalf("parse: code %d, check %q", code, msg)
			}
			var cfg provider.Config
			l.apply(&cfg)
			if got := [2]int{cfg.AuthFailuresPerMinute, cfg.TokensPerMinute}; got != tt.want {
				t.Errorf("AuthFailuresPerMinute, TokensPerMinute = %v, want %v", got, tt.want)
			}
			if (cfg.ClientAddress != nil) != (tt.header != "") {
				t.Fatalf("ClientAddress set: %v, want a header %q", cfg.ClientAddress != nil, tt.header)
			}
			if tt.header != "" {
				r := httptest.NewRequest(http.MethodPost, "/token", nil)
				r.Header.Set(tt.header, "203.0.113.9")
				if got := cfg.ClientAddress(r); got != "203.0.113.9" {
					t.Errorf("ClientAddress = %q, want 203.0.113.9", got)
				}
			}
		})
	}
}

// TestHeaderAddress: the last entry of the header's last line, an IPv6
// address cut to its /64; without a valid one, the proxy's own address,
// marked so that it is no client's.
func TestHeaderAddress(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{name: "one", values: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "list: the nearest proxy's entry", values: []string{"198.51.100.1, 203.0.113.9"}, want: "203.0.113.9"},
		{name: "lines: the last", values: []string{"198.51.100.1", "10.0.0.1 ,203.0.113.9 "}, want: "203.0.113.9"},
		{name: "IPv6 to its /64", values: []string{"2001:db8:1:2:3:4:5:6"}, want: "2001:db8:1:2::/64"},
		{name: "bracketed IPv6", values: []string{"[2001:db8:1:2::9]"}, want: "2001:db8:1:2::/64"},
		{name: "IPv4-mapped", values: []string{"::ffff:203.0.113.9"}, want: "203.0.113.9"},
		{name: "missing", want: "no X-Forwarded-For from 192.0.2.10"},
		{name: "garbage", values: []string{"unknown"}, want: "no X-Forwarded-For from 192.0.2.10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/token", nil)
			r.RemoteAddr = "192.0.2.10:4711"
			for _, v := range tt.values {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := headerAddress(r, "X-Forwarded-For"); got != tt.want {
				t.Errorf("headerAddress = %q, want %q", got, tt.want)
			}
		})
	}
}
