package introspect_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

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

	verifier, err := introspect.New(introspect.Config{
		IntrospectionURL: as.URL + "/introspect", // plain http is allowed on loopback only
		ClientID:         "orders-api",
		ClientSecret:     "s3cret",
	})
	if err != nil {
		log.Fatal(err)
	}

	resp, err := verifier.Introspect(context.Background(), "good-token")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Subject, resp.ClientID, resp.Scopes())

	_, err = verifier.Introspect(context.Background(), "revoked-token")
	fmt.Println(errors.Is(err, introspect.ErrInactive))
	// Output:
	// alice web [orders:read orders:write]
	// true
}

func ExampleNewCache() {
	var calls atomic.Int64
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"active":true,"sub":"alice","exp":4102444800}`)
	}))
	defer as.Close()

	// The layers New would build, with the cache tuned.
	client, err := introspect.NewClient(introspect.Config{
		IntrospectionURL: as.URL + "/introspect",
		ClientID:         "orders-api",
		ClientSecret:     "s3cret",
	})
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := introspect.NewCache(client, introspect.CacheConfig{
		MaxTTL: 30 * time.Second, // notice revocations within 30s
		Size:   50_000,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if _, err := verifier.Introspect(ctx, "good-token"); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("AS calls:", calls.Load())

	// The application learns that the token was revoked.
	verifier.Invalidate(ctx, "good-token")
	verifier.Introspect(ctx, "good-token")
	fmt.Println("AS calls:", calls.Load())
	// Output:
	// AS calls: 1
	// AS calls: 2
}

func ExampleCache_Ping() {
	// A fake authorization server that knows the client "orders-api".
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if id, secret, _ := r.BasicAuth(); id != "orders-api" || secret != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		io.WriteString(w, `{"active":false}`)
	}))
	defer as.Close()

	for _, secret := range []string{"s3cret", "typo"} {
		verifier, err := introspect.New(introspect.Config{
			IntrospectionURL: as.URL + "/introspect",
			ClientID:         "orders-api",
			ClientSecret:     secret,
			Logger:           slog.New(slog.DiscardHandler),
		})
		if err != nil {
			log.Fatal(err)
		}
		// At start-up: a wrong secret shows here, not as 503s later.
		err = verifier.Ping(context.Background())
		fmt.Printf("%s: %v\n", secret, errors.Is(err, introspect.ErrASRejectedClient))
	}
	// Output:
	// s3cret: false
	// typo: true
}
