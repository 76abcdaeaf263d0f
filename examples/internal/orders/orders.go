// Package orders is the protected API shared by the tokengate examples:
// the same routes, scopes and JSON answer in every framework.
package orders

import "github.com/tokengate/tokengate/rs"
import "github.com/tokengate/tokengate/scopes"

// Path is the route of the API.
const Path = "/api/orders"

// Read is required by GET /api/orders, Write by POST /api/orders.
var (
	Read  = scopes.All("orders:read")
	Write = scopes.All("orders:write")
)

// Answer is the JSON body of a successful call: who called.
type Answer struct {
	Subject  string   `json:"subject"`
	ClientID string   `json:"client_id"`
	Scopes   []string `json:"scopes"`
}

// AnswerFor describes the principal; p must not be nil.
func AnswerFor(p *rs.Principal) Answer {
	s := p.Scopes.List()
	if s == nil {
		s = []string{}
	}
	return Answer{Subject: p.Subject, ClientID: p.ClientID, Scopes: s}
}
