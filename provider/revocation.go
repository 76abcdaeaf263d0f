package provider

import (
	"errors"
	"net/http"

	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/secevent"
)

// serveRevocation is the RFC 7009 endpoint. A client may revoke only tokens
// issued to it; revoking a token revokes every token of its grant (§2.1).
// Unknown tokens get 200, as §2.2 says. The revocation is committed before
// the answer is sent, so an introspection that starts afterwards sees it.
func (p *Provider) serveRevocation(w http.ResponseWriter, r *http.Request) {
	form, oerr := p.readForm(w, r)
	if oerr != nil {
		writeError(w, oerr)
		return
	}
	ctx := r.Context()
	client, oerr := p.authenticateClient(ctx, r, form, EndpointRevocation, true)
	if oerr != nil {
		writeError(w, oerr)
		return
	}
	token := form.Get("token")
	if token == "" {
		writeError(w, errInvalidRequest("token is missing"))
		return
	}
	// token_type_hint is only a hint (§2.1); we search all tokens anyway.
	t, err := p.cfg.Store.Token(ctx, store.Hash(token))
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		p.serverError(w, "reading token", err)
		return
	case t.ClientID != client.ID:
		writeError(w, &oauthError{status: http.StatusBadRequest, code: "unauthorized_client",
			description: "the token was not issued to this client"})
		return
	default:
		if _, err := p.cfg.Store.RevokeGrant(ctx, t.GrantID, secevent.ReasonRevoked); err != nil {
			p.serverError(w, "revoking token", err)
			return
		}
		p.events.notify()
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
}
