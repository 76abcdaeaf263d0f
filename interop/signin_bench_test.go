//go:build interop

package interop

import (
	"context"
	"net/http"
	"testing"

	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/interop/internal/interoptest"
	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/users"
)

// signInPeer is a provider to benchmark sign-ins at: a confidential
// client with the authorization_code and refresh_token grants, a user, and
// the userinfo endpoint.
type signInPeer struct {
	name        string
	cfg         oauth2.Config
	user        interoptest.User
	userinfoURL string
}

// signInPeers are node oidc-provider (its minimal pages, the password
// compared as given, everything in memory: its development adapter) and
// our provider on SQLite with its built-in pages, with the default
// Argon2id cost and with the cheapest (so that the difference to node is
// the protocol's work, not the password's), and with the cheapest in
// memory (the durable commits' share: SQLite fsyncs what must survive a
// power cut, node keeps nothing).
func signInPeers(b *testing.B) []func(b *testing.B) signInPeer {
	cheapest := users.Params{MemoryKiB: 8, Passes: 1, Lanes: 1}
	scopes := []string{"openid", "profile", "email", "offline_access"}
	ours := func(name string, params users.Params, memory bool) func(b *testing.B) signInPeer {
		return func(b *testing.B) signInPeer {
			// No token quota to speak of: the benchmark measures the
			// token endpoint, not the quota.
			s := startSignInServerWith(b, signInOptions{Params: params, Memory: memory, Provider: provider.Config{TokensPerMinute: 1 << 30}})
			const redirect = "http://127.0.0.1:9/callback"
			client, secret, err := s.Provider.Admin().RegisterClient(context.Background(), provider.ClientSpec{
				Name: "bench", RedirectURIs: []string{redirect}, Scopes: scopes,
				GrantTypes: []string{provider.GrantAuthorizationCode, provider.GrantRefreshToken},
			})
			if err != nil {
				b.Fatal(err)
			}
			return signInPeer{name: name, user: interoptest.User{Username: "alice", Password: s.Password}, userinfoURL: s.URL + "/userinfo",
				cfg: oauth2.Config{ClientID: client.ID, ClientSecret: secret, RedirectURL: redirect, Scopes: scopes,
					Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/authorize", TokenURL: s.Provider.TokenURL(), AuthStyle: oauth2.AuthStyleInHeader}}}
		}
	}
	return []func(b *testing.B) signInPeer{
		func(b *testing.B) signInPeer {
			op := oidcProvider(b)
			return signInPeer{name: "oidc-provider", user: opSignIn.User, userinfoURL: op.Issuer + "/me",
				cfg: oauth2.Config{ClientID: opSignIn.Client.ID, ClientSecret: opSignIn.Client.Secret, RedirectURL: opSignIn.RedirectURI, Scopes: scopes,
					Endpoint: oauth2.Endpoint{AuthURL: op.Issuer + "/auth", TokenURL: op.TokenURL, AuthStyle: oauth2.AuthStyleInHeader}}}
		},
		ours("tokengate", users.Params{}, false),
		ours("tokengate-cheap-hash", cheapest, false),
		ours("tokengate-cheap-hash-memory", cheapest, true),
	}
}

// flow is one whole sign-in in a new browser: authorize, the login page,
// the consent page (prompt=consent asks every time, at both peers), the
// code redeemed at the token endpoint.
func (p signInPeer) flow(b *testing.B) *oauth2.Token {
	return codeFlow(b, p.cfg, p.user, oauth2.SetAuthURLParam("prompt", "consent"))
}

// perSecond reports b.N per second of the benchmark's wall time as unit.
func perSecond(b *testing.B, unit string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// BenchmarkSignInFlow: whole authorization code flows (authorize -> login
// -> consent -> token) per second, four browsers at once.
func BenchmarkSignInFlow(b *testing.B) {
	for _, start := range signInPeers(b) {
		p := start(b)
		b.Run(p.name, func(b *testing.B) {
			b.SetParallelism(2)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p.flow(b)
				}
			})
			perSecond(b, "flows/s")
		})
	}
}

// BenchmarkRefreshGrant: refresh_token grants per second, each rotating
// its refresh token (the next grant uses the new one), four chains at
// once.
func BenchmarkRefreshGrant(b *testing.B) {
	for _, start := range signInPeers(b) {
		p := start(b)
		b.Run(p.name, func(b *testing.B) {
			b.SetParallelism(2)
			chains := make(chan string, 16)
			for range cap(chains) {
				chains <- p.flow(b).RefreshToken
			}
			ctx := context.Background()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				rt := <-chains
				for pb.Next() {
					tok, err := p.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
					if err != nil {
						b.Error(err)
						return
					}
					if tok.RefreshToken == rt || tok.RefreshToken == "" {
						b.Error("the refresh token did not rotate")
						return
					}
					rt = tok.RefreshToken
				}
			})
			perSecond(b, "grants/s")
		})
	}
}

// BenchmarkUserinfo: userinfo requests per second with one access token,
// four callers at once.
func BenchmarkUserinfo(b *testing.B) {
	for _, start := range signInPeers(b) {
		p := start(b)
		b.Run(p.name, func(b *testing.B) {
			tok := p.flow(b).AccessToken
			b.SetParallelism(2)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodGet, p.userinfoURL, nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("userinfo answered %d", resp.StatusCode)
						return
					}
				}
			})
			perSecond(b, "requests/s")
		})
	}
}
