package main

import (
	"flag"
	"fmt"
	"strings"
)

// envVar is a TOKENGATE_* variable. Every command that has its flag reads
// it when the command line does not give that flag, so one set of
// variables serves every command (and the examples, which read the same
// names).
type envVar struct {
	name string
	flag string // without dashes; "" if it stands for an argument
	// group: the environment fills the flags of a group only when the
	// command line gives none of them, so that flags and variables never
	// mix (--token-url with TOKENGATE_ISSUER, --client-id with
	// TOKENGATE_CLIENT_SECRET).
	group string
	doc   string
}

// environment lists the variables, in the order "tokengate help" prints
// them.
var environment = []envVar{
	{name: "TOKENGATE_ISSUER", flag: "issuer", group: "endpoint", doc: "the authorization server's issuer URL (serve: its own)"},
	{name: "TOKENGATE_TOKEN_URL", flag: "token-url", group: "endpoint", doc: "the token endpoint, instead of discovery"},
	{name: "TOKENGATE_INTROSPECTION_URL", flag: "introspection-url", group: "endpoint", doc: "the introspection endpoint, instead of discovery"},
	{name: "TOKENGATE_REVOCATION_URL", flag: "revocation-url", group: "endpoint", doc: "the revocation endpoint, instead of discovery"},
	{name: "TOKENGATE_CLIENT_ID", flag: "client-id", group: "credentials", doc: "our client id at the authorization server"},
	{name: "TOKENGATE_CLIENT_SECRET", flag: "client-secret", group: "credentials", doc: "its secret (kept out of the process list)"},
	{name: "TOKENGATE_CLIENT_AUTH", flag: "auth", group: "auth", doc: "basic (client_secret_basic) or post (client_secret_post)"},
	{name: "TOKENGATE_BEARER_TOKEN", flag: "bearer", group: "credentials", doc: "a bearer token to introspect with, instead of a secret"},
	{name: "TOKENGATE_AUDIENCE", flag: "audience", group: "audience", doc: "proxy: accepted audiences, comma-separated"},
	{name: "TOKENGATE_JWT_ACCESS_TOKENS", flag: "jwt-access-tokens", group: "jwt-access-tokens", doc: "proxy: local checks RFC 9068 JWT access tokens locally"},
	{name: "TOKENGATE_JWT_RESPONSE", flag: "jwt-response", group: "jwt-response", doc: "proxy: signed or encrypted RFC 9701 introspection answers"},
	{name: "TOKENGATE_RS_KEY", flag: "rs-key", group: "jwt-response", doc: "proxy: the key file that decrypts them"},
	{name: "TOKENGATE_RESOURCE", flag: "resource", group: "resource", doc: "proxy: our RFC 9728 resource identifier"},
	{name: "TOKENGATE_TOKEN", doc: "the TOKEN to introspect or revoke, when none is given"},
	{name: "TOKENGATE_DB", flag: "db", group: "db", doc: "the database (SQLite file or postgres:// URL) of serve, client, user, consent, keys"},
	{name: "TOKENGATE_AUTH_FAILURES_PER_MINUTE", flag: "auth-failures-per-minute", group: "auth-failures-per-minute", doc: "serve: failed client authentications per client id and address a minute"},
	{name: "TOKENGATE_TOKENS_PER_MINUTE", flag: "tokens-per-minute", group: "tokens-per-minute", doc: "serve: each client's token quota a minute"},
	{name: "TOKENGATE_CLIENT_ADDRESS_HEADER", flag: "client-address-header", group: "client-address-header", doc: "serve: the header a trusted reverse proxy puts the client's address in"},
}

// tokenVar is the variable that holds the token to introspect or revoke.
const tokenVar = "TOKENGATE_TOKEN"

// envFor returns the variable of the flag name, or nil.
func envFor(name string) *envVar {
	for i, v := range environment {
		if v.flag == name {
			return &environment[i]
		}
	}
	return nil
}

// environmentList is the table of variables as "tokengate help" and the
// package documentation show it.
func environmentList() string {
	var b strings.Builder
	for _, v := range environment {
		what := "--" + v.flag + ": " + v.doc
		if v.flag == "" {
			what = v.doc
		}
		fmt.Fprintf(&b, "\t%-35s %s\n", v.name, what)
	}
	return b.String()
}

// lookup reads a variable, or "" in a test that gave no environment.
func (e *env) lookup(name string) string {
	if e.getenv == nil {
		return ""
	}
	return e.getenv(name)
}

// applyEnvironment sets the flags the command line did not give from their
// variables, group by group.
func (f *flagSet) applyEnvironment() error {
	givenGroup := map[string]bool{}
	f.Visit(func(fl *flag.Flag) {
		if v := envFor(fl.Name); v != nil {
			givenGroup[v.group] = true
		}
	})
	for _, v := range environment {
		if v.flag == "" || givenGroup[v.group] || f.Lookup(v.flag) == nil {
			continue
		}
		val := f.e.lookup(v.name)
		if val == "" {
			continue
		}
		if err := f.Set(v.flag, val); err != nil {
			return fmt.Errorf("%s=%q: %v", v.name, val, err)
		}
		f.fromEnv[v.flag] = v.name
	}
	return nil
}
