package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tokengate/tokengate/provider/store"
)

// consentFor decides what the user of a.session has granted a.client of
// the scopes asked for: granted are those granted already, and ask says
// whether the user must be asked (for the rest, or for all of them under
// prompt=consent). A first-party client is granted everything without
// asking, unless it asks for prompt=consent itself. A stored consent
// covers a request when it is unexpired and includes every scope asked;
// a request for no scope at all still needs one, since the client learns
// who the user is.
func (p *Provider) consentFor(ctx context.Context, a *authorization) (granted []string, ask bool, err error) {
	ar := a.req
	if a.consented != nil {
		return a.consented, false, nil
	}
	promptConsent := slices.Contains(ar.Prompt, "consent")
	if a.client.FirstParty && !promptConsent {
		return slices.Clone(ar.Scopes), false, nil
	}
	c, err := p.cfg.Store.Consent(ctx, a.session.Subject, a.client.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, true, nil
	case err != nil:
		return nil, false, err
	case !p.now().Before(c.ExpiresAt):
		return nil, true, nil
	}
	for _, s := range ar.Scopes {
		if slices.Contains(c.Scopes, s) {
			granted = append(granted, s)
		}
	}
	return granted, promptConsent || len(granted) < len(ar.Scopes), nil
}

// rememberConsent stores that subject granted clientID scopes, besides
// what an unexpired consent of theirs granted it already, for
// ConsentLifetime from now.
func (p *Provider) rememberConsent(ctx context.Context, subject, clientID string, scopes []string) error {
	now := p.now()
	all := slices.Clone(scopes)
	old, err := p.cfg.Store.Consent(ctx, subject, clientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case now.Before(old.ExpiresAt):
		for _, s := range old.Scopes {
			if !slices.Contains(all, s) {
				all = append(all, s)
			}
		}
	}
	if all == nil {
		all = []string{}
	}
	err = p.cfg.Store.SaveConsent(ctx, &store.Consent{Subject: subject, ClientID: clientID, Scopes: all,
		GrantedAt: now, ExpiresAt: now.Add(p.cfg.ConsentLifetime)})
	if err != nil {
		return fmt.Errorf("saving consent: %w", err)
	}
	return nil
}
