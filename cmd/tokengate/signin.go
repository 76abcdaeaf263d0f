package main

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/tokengate/tokengate/provider"
	"github.com/tokengate/tokengate/provider/signin"
	"github.com/tokengate/tokengate/provider/store"
	"github.com/tokengate/tokengate/provider/users"
)

// signinPath is where serve and demo mount the built-in sign-in pages,
// under the issuer's path: the provider's LoginURL.
const signinPath = "/signin"

// signinServer is the provider with its built-in sign-in pages and the
// users of the same database: what serve and demo run.
type signinServer struct {
	provider *provider.Provider
	users    *users.Directory
	handler  http.Handler
	closers  []func()
}

// signinConfig configures startSignin.
type signinConfig struct {
	issuer    string
	dbPath    string
	store     store.Store
	logger    *slog.Logger
	templates string       // a directory of overriding templates (*.html), or ""
	limits    *serveLimits // serve's throttling flags; nil for the provider's defaults
}

// startSignin opens the users of cfg.dbPath (a file or a PostgreSQL URL) and starts the provider with
// its sign-in pages at issuer + signinPath. The caller calls close.
func startSignin(ctx context.Context, cfg signinConfig) (_ *signinServer, err error) {
	s := &signinServer{}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	var custom *template.Template
	if cfg.templates != "" {
		if custom, err = template.ParseGlob(filepath.Join(cfg.templates, "*.html")); err != nil {
			return nil, fmt.Errorf("--templates %s: %w", cfg.templates, err)
		}
	}
	us, err := openUsersStore(ctx, cfg.dbPath)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { us.Close() })
	if s.users, err = users.New(users.Config{Store: us}); err != nil {
		return nil, err
	}
	pcfg := provider.Config{
		Issuer:   cfg.issuer,
		Store:    cfg.store,
		Logger:   cfg.logger,
		LoginURL: strings.TrimSuffix(cfg.issuer, "/") + signinPath,
		Claims:   s.users.Claims,
	}
	if cfg.limits != nil {
		cfg.limits.apply(&pcfg)
	}
	s.provider, err = provider.New(pcfg)
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { s.provider.Close() })
	pages, err := signin.New(signin.Config{Provider: s.provider, Users: s.users, Templates: custom, Logger: cfg.logger})
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.issuer)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(u.Path, "/") + signinPath
	mux := http.NewServeMux()
	mux.Handle(base, pages)
	mux.Handle(base+"/", pages)
	mux.Handle("/", s.provider)
	s.handler = mux
	return s, nil
}

// close stops the provider and closes the users' store, in reverse order.
func (s *signinServer) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}
