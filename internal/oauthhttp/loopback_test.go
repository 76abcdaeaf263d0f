package oauthhttp

import (
	"strings"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		name, host string
		want       bool
	}{
		{"localhost", "localhost", true},
		{"localhost in capitals", "LocalHost", true},
		{"IPv4 loopback", "127.0.0.1", true},
		{"elsewhere in 127/8", "127.3.2.1", true},
		{"IPv6 loopback", "::1", true},
		{"empty", "", false},
		{"unspecified", "0.0.0.0", false},
		{"private address", "10.0.0.1", false},
		{"a name that starts like localhost", "localhost.example.com", false},
		{"a name that ends like localhost", "evil-localhost", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsLoopback(tt.host); got != tt.want {
				t.Errorf("IsLoopback(%q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		allowHTTP bool
		wantErr   string // a substring; "" for success
	}{
		{"https", "https://as.example.com/introspect", false, ""},
		{"http on loopback", "http://127.0.0.1:8080/introspect", false, ""},
		{"http on localhost", "http://localhost/introspect", false, ""},
		{"http elsewhere", "http://as.example.com/introspect", false, "InsecureX"},
		{"http elsewhere allowed", "http://as.example.com/introspect", true, ""},
		{"relative", "/introspect", false, "not an absolute URL"},
		{"no scheme", "as.example.com/introspect", false, "not an absolute URL"},
		{"other scheme", "ftp://as.example.com/introspect", true, "scheme must be https"},
		{"user info", "https://user:pass@as.example.com/introspect", false, "credentials"},
		{"unparsable", "https://as.example.com/%zz", false, "invalid URL escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckURL(tt.raw, tt.allowHTTP, "InsecureX")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckURL(%q) = %v, want nil", tt.raw, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckURL(%q) = %v, want an error containing %q", tt.raw, err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "pass@"):
				t.Errorf("CheckURL(%q) = %v: the password is echoed", tt.raw, err)
			}
		})
	}
}
