package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/store"
)

// maxJWKSFileBytes caps a --jwks file.
const maxJWKSFileBytes = 1 << 20

// openDB opens the store on db (see openStore) and a provider.Admin on it,
// for the administrative commands. With mustExist, a missing SQLite file is
// an error rather than a new empty database. The caller closes the store.
func openDB(ctx context.Context, db string, mustExist bool) (*provider.Admin, store.Store, error) {
	if mustExist {
		if err := checkDBExists(db, "start \"tokengate serve --db "+db+"\" or create a client first"); err != nil {
			return nil, nil, err
		}
	}
	st, err := openStore(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	a, err := provider.NewAdmin(provider.AdminConfig{Store: st})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return a, st, nil
}

const clientCreateUsage = `Register a client and print its id and secret. The secret is shown only
this once: the database keeps only its SHA-256 hash.

A client that gets tokens needs --scopes (and --resource to name the APIs the
tokens are for). A client that signs users in (OpenID Connect, authorization
code with PKCE) needs --redirect-uri, and --grant refresh_token for refresh
tokens; --public registers one without a secret (a browser or mobile app),
--first-party one whose users are not asked for consent. A resource server that checks tokens needs --introspect (it
may see tokens whose audience is its client id or one of its --resource
URIs) or --introspect-any (any token). RFC 9701 JWT introspection answers are
signed with --introspection-signed-response-alg, and also encrypted to the
client's key with --introspection-encrypted-response-alg/-enc and --jwks or
--jwks-uri.`

// runClientCreate implements "tokengate client create".
func runClientCreate(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "client create", "--db PATH --name NAME --scopes \"a b\" [flags]", clientCreateUsage)
	dbPath := fs.String("db", defaultDBPath, dbUsage)
	name := fs.String("name", "", "human-readable `name` of the client (required)")
	scopeList := fs.String("scopes", "", "space-delimited `scopes` the client may obtain")
	var grants, resources stringList
	fs.Var(&grants, "grant", "grant `type` the client may use: client_credentials, authorization_code, refresh_token (repeatable; default client_credentials, or authorization_code with --redirect-uri)")
	var redirectURIs, logoutURIs stringList
	fs.Var(&redirectURIs, "redirect-uri", "redirect `URI` for the authorization code flow, matched exactly (repeatable)")
	fs.Var(&logoutURIs, "post-logout-redirect-uri", "`URI` the browser may return to after signing out (repeatable)")
	public := fs.Bool("public", false, "a public client: no secret, PKCE only (a browser or native app)")
	firstParty := fs.Bool("first-party", false, "trusted by the operator: its users are not asked for consent")
	idTokenAlg := fs.String("id-token-alg", "", "`alg` of its ID tokens, among the server's keys: RS256 (default), ES256 or EdDSA")
	fs.Var(&resources, "resource", "RFC 8707 resource indicator `URI` (repeatable): an API the client's tokens are for, and an audience it may introspect")
	intro := fs.Bool("introspect", false, "may introspect tokens meant for it (audience = its id or one of its resources)")
	introAny := fs.Bool("introspect-any", false, "may introspect any token")
	lifetime := fs.Duration("token-lifetime", 0, "lifetime of its access tokens, e.g. 15m (default: the server's, 1h)")
	jwtTokens := fs.Bool("jwt-access-tokens", false, "issue RFC 9068 JWT access tokens instead of opaque ones (needs --resource)")
	signedAlg := fs.String("introspection-signed-response-alg", "", "RFC 9701 signing `alg` of JWT introspection answers: RS256, PS256, ES256 or EdDSA")
	encAlg := fs.String("introspection-encrypted-response-alg", "", "RFC 9701 key management `alg`: RSA-OAEP, RSA-OAEP-256, ECDH-ES, ECDH-ES+A128KW or ECDH-ES+A256KW")
	encEnc := fs.String("introspection-encrypted-response-enc", "", "RFC 9701 content encryption `enc`: A128CBC-HS256 (default), A256CBC-HS512, A128GCM or A256GCM")
	jwksFile := fs.String("jwks", "", "`file` with the client's public JWK Set, to encrypt to")
	jwksURI := fs.String("jwks-uri", "", "`URL` of the client's public JWK Set, to encrypt to")
	asJSON := fs.Bool("json", false, `print {"client_id": …, "client_secret": …} as JSON`)
	if code, ok := fs.parseNoArgs(args); !ok {
		return code
	}
	switch {
	case strings.TrimSpace(*name) == "":
		return fs.usageError("--name is required")
	case *intro && *introAny:
		return fs.usageError("give --introspect or --introspect-any, not both")
	case *jwksFile != "" && *jwksURI != "":
		return fs.usageError("give --jwks or --jwks-uri, not both")
	case (*encAlg != "" || *encEnc != "") && *jwksFile == "" && *jwksURI == "":
		return fs.usageError("an encrypted response needs the client's key: --jwks FILE or --jwks-uri URL")
	case (*encAlg != "" || *encEnc != "" || *signedAlg != "") && !*intro && !*introAny:
		return fs.usageError("--introspection-*-response-* settings need --introspect or --introspect-any")
	}
	spec := provider.ClientSpec{
		Name:                              *name,
		Scopes:                            strings.Fields(*scopeList),
		GrantTypes:                        grants,
		Resources:                         resources,
		TokenLifetime:                     *lifetime,
		JWTAccessTokens:                   *jwtTokens,
		IntrospectionSignedResponseAlg:    *signedAlg,
		IntrospectionEncryptedResponseAlg: *encAlg,
		IntrospectionEncryptedResponseEnc: *encEnc,
		JWKSURI:                           *jwksURI,
		RedirectURIs:                      redirectURIs,
		PostLogoutRedirectURIs:            logoutURIs,
		Public:                            *public,
		FirstParty:                        *firstParty,
		IDTokenSignedResponseAlg:          *idTokenAlg,
	}
	switch {
	case *intro:
		spec.Introspection = store.IntrospectOwnAudience
	case *introAny:
		spec.Introspection = store.IntrospectAny
	}
	if *jwksFile != "" {
		b, err := readFileMax(*jwksFile, maxJWKSFileBytes)
		if err != nil {
			return fs.fail(exitFailure, fmt.Errorf("--jwks: %w", err))
		}
		if !json.Valid(b) {
			return fs.usageError("--jwks: %s is not JSON", *jwksFile)
		}
		spec.JWKS = string(b)
	}

	admin, st, err := openDB(ctx, *dbPath, false)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer st.Close()
	c, secret, err := admin.RegisterClient(ctx, spec)
	if errors.Is(err, provider.ErrInvalidClient) {
		return fs.usageError("%v", err)
	}
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	if secret == "" {
		if *asJSON {
			return printJSON(fs, map[string]string{"client_id": c.ID}, exitOK)
		}
		fmt.Fprintf(e.stdout, "client_id:     %s\n", c.ID)
		fmt.Fprintln(e.stderr, "A public client has no secret: it proves itself with PKCE.")
		return exitOK
	}
	if *asJSON {
		return printJSON(fs, map[string]string{"client_id": c.ID, "client_secret": secret}, exitOK)
	}
	fmt.Fprintf(e.stdout, "client_id:     %s\nclient_secret: %s\n", c.ID, secret)
	fmt.Fprintln(e.stderr, "Keep the secret now: it is not stored and cannot be shown again.")
	return exitOK
}

// readFileMax reads at most max bytes of a file.
func readFileMax(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}

// clientView is how list shows a client: everything but the secret hash.
type clientView struct {
	ID                                string    `json:"client_id"`
	Name                              string    `json:"name"`
	Public                            bool      `json:"public,omitempty"`
	Scopes                            []string  `json:"scopes"`
	GrantTypes                        []string  `json:"grant_types"`
	Resources                         []string  `json:"resources,omitempty"`
	Introspection                     string    `json:"introspection"`
	TokenLifetime                     string    `json:"token_lifetime,omitempty"`
	AccessTokenFormat                 string    `json:"access_token_format,omitempty"`
	IntrospectionSignedResponseAlg    string    `json:"introspection_signed_response_alg,omitempty"`
	IntrospectionEncryptedResponseAlg string    `json:"introspection_encrypted_response_alg,omitempty"`
	IntrospectionEncryptedResponseEnc string    `json:"introspection_encrypted_response_enc,omitempty"`
	JWKSURI                           string    `json:"jwks_uri,omitempty"`
	HasJWKS                           bool      `json:"jwks,omitempty"`
	RedirectURIs                      []string  `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs            []string  `json:"post_logout_redirect_uris,omitempty"`
	FirstParty                        bool      `json:"first_party,omitempty"`
	IDTokenSignedResponseAlg          string    `json:"id_token_signed_response_alg,omitempty"`
	CreatedAt                         time.Time `json:"created_at"`
}

func viewOf(c *provider.Client) clientView {
	v := clientView{
		ID: c.ID, Name: c.Name, Public: c.Public(), Scopes: c.Scopes, GrantTypes: c.GrantTypes,
		Resources: c.Resources, Introspection: c.Introspection.String(), AccessTokenFormat: c.AccessTokenFormat,
		IntrospectionSignedResponseAlg:    c.IntrospectionSignedResponseAlg,
		IntrospectionEncryptedResponseAlg: c.IntrospectionEncryptedResponseAlg,
		IntrospectionEncryptedResponseEnc: c.IntrospectionEncryptedResponseEnc,
		JWKSURI:                           c.JWKSURI, HasJWKS: c.JWKS != "", CreatedAt: c.CreatedAt.UTC(),
		RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, FirstParty: c.FirstParty,
		IDTokenSignedResponseAlg: c.IDTokenSignedResponseAlg,
	}
	if c.TokenLifetime > 0 {
		v.TokenLifetime = c.TokenLifetime.String()
	}
	if v.Scopes == nil {
		v.Scopes = []string{}
	}
	if v.GrantTypes == nil {
		v.GrantTypes = []string{}
	}
	return v
}

// runClientList implements "tokengate client list".
func runClientList(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "client list", "--db PATH [--json]", "List the registered clients (never their secrets).")
	dbPath := fs.String("db", defaultDBPath, dbUsage)
	asJSON := fs.Bool("json", false, "print a JSON array")
	if code, ok := fs.parseNoArgs(args); !ok {
		return code
	}
	admin, st, err := openDB(ctx, *dbPath, true)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer st.Close()
	cs, err := admin.Clients(ctx)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	views := make([]clientView, 0, len(cs))
	for _, c := range cs {
		views = append(views, viewOf(c))
	}
	if *asJSON {
		return printJSON(fs, views, exitOK)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tNAME\tSCOPES\tRESOURCES\tINTROSPECT\tCREATED")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, oneLine(v.Name), dash(strings.Join(v.Scopes, " ")),
			dash(strings.Join(v.Resources, " ")), v.Introspection, v.CreatedAt.Format(time.RFC3339))
	}
	tw.Flush()
	return exitOK
}

// oneLine keeps a user-given name from breaking the table.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runClientDelete implements "tokengate client delete".
func runClientDelete(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "client delete", "--db PATH ID...",
		"Delete clients. Their tokens stop being active at once, also on a running server.")
	dbPath := fs.String("db", defaultDBPath, dbUsage)
	ids, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(ids) == 0 {
		return fs.usageError("want the id of the client to delete")
	}
	admin, st, err := openDB(ctx, *dbPath, true)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer st.Close()
	for _, id := range ids {
		err := admin.DeleteClient(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return fs.fail(exitFailure, fmt.Errorf("no client %q", id))
		}
		if err != nil {
			return fs.fail(exitFailure, err)
		}
		fmt.Fprintf(e.stdout, "deleted %s\n", id)
	}
	return exitOK
}
