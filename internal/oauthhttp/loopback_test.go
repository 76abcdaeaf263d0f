package oauthhttp

import "testing"

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
