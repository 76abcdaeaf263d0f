package envconfig_test

import (
	"strings"
	"testing"

	"github.com/tokengate/tokengate/examples/internal/envconfig"
	"github.com/tokengate/tokengate/introspect"
)

func TestLoad(t *testing.T) {
	const url = "https://as.example.com/introspect"
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string // substrings of the error, one per problem
		check   func(t *testing.T, c *envconfig.Config)
	}{
		{
			name: "url and basic",
			env:  map[string]string{"TOKENGATE_INTROSPECTION_URL": url, "TOKENGATE_CLIENT_ID": "api", "TOKENGATE_CLIENT_SECRET": "s:e%c+r é", "TOKENGATE_AUDIENCE": "https://api.example.com"},
			check: func(t *testing.T, c *envconfig.Config) {
				i := c.Introspect
				if i.IntrospectionURL != url || i.Issuer != "" || i.ClientID != "api" || i.ClientSecret != "s:e%c+r é" || i.AuthStyle != introspect.AuthStyleBasic || i.TokenSource != nil {
					t.Errorf("introspect config = %+v", i)
				}
				if c.Guard.SkipAudienceCheck || len(c.Guard.Audiences) != 1 || c.Guard.Audiences[0] != "https://api.example.com" {
					t.Errorf("guard config = %+v", c.Guard)
				}
				if c.Addr != "127.0.0.1:8080" || len(c.Notes) != 0 {
					t.Errorf("addr %q, notes %q", c.Addr, c.Notes)
				}
			},
		},
		{
			name: "issuer, post, two audiences, addr",
			env: map[string]string{"TOKENGATE_ISSUER": "https://as.example.com", "TOKENGATE_CLIENT_ID": "api", "TOKENGATE_CLIENT_SECRET": "x",
				"TOKENGATE_CLIENT_AUTH": "post", "TOKENGATE_AUDIENCE": "a, b", "ADDR": "127.0.0.1:9999"},
			check: func(t *testing.T, c *envconfig.Config) {
				if c.Introspect.Issuer != "https://as.example.com" || c.Introspect.AuthStyle != introspect.AuthStylePost {
					t.Errorf("introspect config = %+v", c.Introspect)
				}
				if strings.Join(c.Guard.Audiences, "|") != "a|b" || c.Addr != "127.0.0.1:9999" {
					t.Errorf("audiences %q, addr %q", c.Guard.Audiences, c.Addr)
				}
			},
		},
		{
			name: "bearer token, no audience",
			env:  map[string]string{"TOKENGATE_INTROSPECTION_URL": url, "TOKENGATE_BEARER_TOKEN": "rs-token"},
			check: func(t *testing.T, c *envconfig.Config) {
				if c.Introspect.TokenSource == nil || c.Introspect.ClientID != "" {
					t.Fatalf("introspect config = %+v", c.Introspect)
				}
				tok, err := c.Introspect.TokenSource.Token()
				if err != nil || tok.AccessToken != "rs-token" {
					t.Errorf("token source gives %v, %v", tok, err)
				}
				if !c.Guard.SkipAudienceCheck || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "audience check is skipped") {
					t.Errorf("skip %v, notes %q", c.Guard.SkipAudienceCheck, c.Notes)
				}
			},
		},
		{name: "nothing", env: map[string]string{}, wantErr: []string{"TOKENGATE_ISSUER", "TOKENGATE_BEARER_TOKEN"}},
		{name: "both endpoints", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_INTROSPECTION_URL": url, "TOKENGATE_BEARER_TOKEN": "t"}, wantErr: []string{"only one of"}},
		{name: "relative url", env: map[string]string{"TOKENGATE_INTROSPECTION_URL": "/introspect", "TOKENGATE_BEARER_TOKEN": "t"}, wantErr: []string{"TOKENGATE_INTROSPECTION_URL"}},
		{name: "bad issuer", env: map[string]string{"TOKENGATE_ISSUER": "as.example.com", "TOKENGATE_BEARER_TOKEN": "t"}, wantErr: []string{"TOKENGATE_ISSUER"}},
		{name: "bearer and client", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_BEARER_TOKEN": "t", "TOKENGATE_CLIENT_ID": "x"}, wantErr: []string{"not both"}},
		{name: "id without secret", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_CLIENT_ID": "x"}, wantErr: []string{"TOKENGATE_CLIENT_SECRET is not"}},
		{name: "secret without id", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_CLIENT_SECRET": "x"}, wantErr: []string{"TOKENGATE_CLIENT_ID is not"}},
		{name: "bad auth style", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_CLIENT_ID": "x", "TOKENGATE_CLIENT_SECRET": "y", "TOKENGATE_CLIENT_AUTH": "jwt"}, wantErr: []string{"want basic or post"}},
		{name: "auth style with bearer", env: map[string]string{"TOKENGATE_ISSUER": "https://a", "TOKENGATE_BEARER_TOKEN": "t", "TOKENGATE_CLIENT_AUTH": "post"}, wantErr: []string{"not to TOKENGATE_BEARER_TOKEN"}},
		{name: "every problem at once", env: map[string]string{"TOKENGATE_CLIENT_AUTH": "jwt", "TOKENGATE_CLIENT_ID": "x"}, wantErr: []string{"TOKENGATE_ISSUER", "TOKENGATE_CLIENT_SECRET is not"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := envconfig.Load(func(k string) string { return tt.env[k] })
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Load accepted %v", tt.env)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				if c != nil {
					t.Error("config returned with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
		})
	}
}
