package providertest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/providertest"
	"github.com/tokengate/tokengate/provider/store"
)

func TestServer(t *testing.T) {
	srv := providertest.New(t)
	rs := srv.RegisterClient(provider.ClientSpec{Introspection: store.IntrospectAny})
	app := srv.RegisterClient(provider.ClientSpec{Scopes: []string{"read"}})
	ic, err := introspect.NewClient(introspect.Config{IntrospectionURL: srv.IntrospectionURL, ClientID: rs.ID, ClientSecret: rs.Secret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name       string
		tok        providertest.Token
		wantActive bool
	}{
		{"active", providertest.Token{Client: app, Scopes: []string{"read", "beyond-registration"}, Audience: []string{"https://api.example/"}}, true},
		{"expired", providertest.Token{Client: app, Expiry: time.Now().Add(-time.Second)}, false},
		{"revoked", providertest.Token{Client: app, Revoked: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := ic.Introspect(ctx, srv.Mint(tt.tok))
			if !tt.wantActive {
				if !errors.Is(err, introspect.ErrInactive) {
					t.Errorf("err = %v, want ErrInactive", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Scope != "read beyond-registration" || len(resp.Audience) != 1 || resp.Audience[0] != "https://api.example/" {
				t.Errorf("resp = %+v", resp)
			}
		})
	}
	tok := srv.Mint(providertest.Token{Client: app})
	srv.Revoke(tok)
	if _, err := ic.Introspect(ctx, tok); !errors.Is(err, introspect.ErrInactive) {
		t.Errorf("after Revoke: %v", err)
	}
}
