package introspect_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/tokengate/tokengate/introspect"
)

func ExampleNew() {
	// A fake authorization server that knows one active token.
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		if id != "orders-api" || secret != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.PostFormValue("token") != "good-token" {
			io.WriteString(w, `{"active":false}`)
			return
		}
		io.WriteString(w, `{"active":true,"sub":"alice","client_id":"web","scope":"orders:read orders:write","exp":4102444800}`)
	}))
	defer as.Close()

	client, err := introspect.New(introspect.Config{
		IntrospectionURL: as.URL + "/introspect", // plain http is allowed on loopback only
		ClientID:         "orders-api",
		ClientSecret:     "s3cret",
	})
	if err != nil {
		log.Fatal(err)
	}

	resp, err := client.Introspect(context.Background(), "good-token")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Subject, resp.ClientID, resp.Scopes())

	_, err = client.Introspect(context.Background(), "revoked-token")
	fmt.Println(errors.Is(err, introspect.ErrInactive))
	// Output:
	// alice web [orders:read orders:write]
	// true
}
