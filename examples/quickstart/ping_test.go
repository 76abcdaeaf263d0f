package main

import (
	"errors"
	"testing"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/providertest"
	"github.com/tokengate/tokengate/provider/store"
)

// The quick start fails at start, with the reason, when its configuration
// is wrong: a 503 on the first request would hide it.
func TestNewAPIFailsFast(t *testing.T) {
	as := providertest.New(t)
	rsClient := as.RegisterClient(provider.ClientSpec{Introspection: store.IntrospectAny})
	tests := []struct {
		name, issuer, secret string
		want                 error
	}{
		{"wrong secret", as.Issuer, rsClient.Secret + "x", introspect.ErrASRejectedClient},
		{"no authorization server there", "http://127.0.0.1:1", rsClient.Secret, introspect.ErrUnavailable},
	}
	for _, tt := range tests {
		if _, err := newAPI(tt.issuer, rsClient.ID, tt.secret); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}
