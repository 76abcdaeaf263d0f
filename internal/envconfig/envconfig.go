// Package envconfig reads the environment contract shared by the tokengate
// examples (examples/nethttp, examples/echo, examples/gin), in internal/ so
// that cmd/tokengate can read the same settings:
//
//	TOKENGATE_ISSUER              issuer URL; the introspection endpoint is discovered (RFC 8414, then OIDC);
//	                              several, comma-separated, are each discovered on their own
//	TOKENGATE_INTROSPECTION_URL   or the RFC 7662 endpoint itself (exactly one of the two)
//	TOKENGATE_CLIENT_ID           our client id at the AS …
//	TOKENGATE_CLIENT_SECRET       … and its secret (client_secret_basic)
//	TOKENGATE_CLIENT_AUTH         "basic" (default) or "post" for client_secret_post
//	TOKENGATE_BEARER_TOKEN        or a static bearer token for the AS instead of id and secret
//	TOKENGATE_AUDIENCE            optional: accepted audiences, comma-separated; absent skips the audience check
//	ADDR                          listen address, default 127.0.0.1:8080
//
// Optional, for RFC 9701 JWT introspection answers (they need
// TOKENGATE_ISSUER, whose keys sign them, and TOKENGATE_CLIENT_ID, to whom
// they are addressed):
//
//	TOKENGATE_JWT_RESPONSE        "signed" asks the AS for signed answers (application/token-introspection+jwt);
//	                              "encrypted" also requires them to be encrypted to TOKENGATE_RS_KEY;
//	                              unset (or "json") means plain RFC 7662 JSON
//	TOKENGATE_RS_KEY              path of our private key (PEM or JWK) that decrypts encrypted answers;
//	                              its public half is served at /.well-known/jwks.json
//
// Optional, for RFC 9068 JWT access tokens checked locally:
//
//	TOKENGATE_JWT_ACCESS_TOKENS   "local" checks JWT access tokens with the keys of each TOKENGATE_ISSUER's
//	                              metadata (jwks_uri) instead of introspecting them; it needs
//	                              TOKENGATE_AUDIENCE. Opaque tokens still go to introspection when
//	                              credentials are given; without them only JWTs are accepted, as the
//	                              example says at start. Unset (or "introspect") introspects every token.
//
// Optional, for RFC 9728 protected resource metadata:
//
//	TOKENGATE_RESOURCE            our resource identifier (https URL); its metadata document is served at the
//	                              RFC 9728 well-known path and named in every challenge (resource_metadata)
//
// Optional, for a fleet of replicas (see the README, "Running several
// replicas"):
//
//	TOKENGATE_REDIS_URL           redis://[[user]:password@]host[:port][/db] (or rediss://): verdicts are shared
//	                              between replicas through Redis (introspect/rediscache); needs
//	                              TOKENGATE_SHARED_CACHE_KEY
//	TOKENGATE_SHARED_CACHE_KEY    the key that authenticates the shared verdicts, the same on every replica:
//	                              at least 32 characters (openssl rand -base64 32); several, comma-separated,
//	                              to rotate (the first signs)
//	TOKENGATE_REVOCATION_EVENTS   "on" subscribes to each issuer's revocation events (revocationfeed), found
//	                              in its metadata (revocation_events_endpoint), with TOKENGATE_CLIENT_ID and
//	                              TOKENGATE_CLIENT_SECRET; the example refuses to start if an issuer
//	                              advertises none. Unset (or "off") waits for MaxTTL.
//
// It is internal: a real service reads its configuration however it likes
// and fills introspect.Config and rs.Config itself.
package envconfig

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/tokengate/tokengate/introspect"
	"github.com/tokengate/tokengate/introspect/rediscache"
	"github.com/tokengate/tokengate/jwtaccess"
	"github.com/tokengate/tokengate/jwtintrospect"
	"github.com/tokengate/tokengate/revocationfeed"
	"github.com/tokengate/tokengate/rs"
	"github.com/tokengate/tokengate/tokenroute"
)

// DefaultAddr is the listen address when ADDR is unset.
const DefaultAddr = "127.0.0.1:8080"

// JWKSPath is where the resource server's public decryption key is served.
const JWKSPath = "/.well-known/jwks.json"

// Config is what the environment describes.
type Config struct {
	// Introspect configures the introspection client.
	Introspect introspect.Config
	// Guard configures the guard; its Introspector is left for Build.
	Guard rs.Config
	// JWT configures RFC 9701 answers; nil unless asked for.
	JWT *jwtintrospect.Config
	// Issuers are the issuers of TOKENGATE_ISSUER. With more than one, or
	// with JWTAccessTokens, Build routes tokens through a tokenroute.Router,
	// each issuer with its own introspection client (Introspect with that
	// Issuer) and JWT validator.
	Issuers []string
	// JWTAccessTokens is TOKENGATE_JWT_ACCESS_TOKENS=local: JWTs are checked
	// locally, with the guard's audiences.
	JWTAccessTokens bool
	// NoIntrospection is set when JWTAccessTokens is and no credentials
	// are: only JWT access tokens are accepted.
	NoIntrospection bool
	// Resource is the RFC 9728 resource identifier; empty unless set.
	Resource string
	// Addr is the listen address.
	Addr string
	// Notes are facts worth logging at start-up, such as a skipped check.
	Notes []string
	// RedisURL is TOKENGATE_REDIS_URL: the shared verdict tier; empty
	// for none.
	RedisURL string
	// SharedKeys are TOKENGATE_SHARED_CACHE_KEY, set with RedisURL.
	SharedKeys [][]byte
	// RevocationEvents is TOKENGATE_REVOCATION_EVENTS=on.
	RevocationEvents bool
	// ClientObserver, if set, is called once for each introspection client
	// Build makes, and that client (with the cache over it, if it has its
	// own) reports its events to the observer returned: "tokengate proxy"
	// follows each client's circuit breaker for its readiness. Not read
	// from the environment.
	ClientObserver func() introspect.Observer
}

// Load reads the contract through getenv (os.Getenv in main). It returns
// every problem it finds, one per line, or the configuration.
func Load(getenv func(string) string) (*Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	var problems []error
	bad := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }
	cfg := &Config{Addr: get("ADDR")}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}

	for _, iss := range strings.Split(get("TOKENGATE_ISSUER"), ",") {
		if iss = strings.TrimSpace(iss); iss == "" {
			continue
		}
		if err := checkURL(iss); err != nil {
			bad("TOKENGATE_ISSUER: %v", err)
		} else if slices.Contains(cfg.Issuers, iss) {
			bad("TOKENGATE_ISSUER lists %s twice", iss)
		}
		cfg.Issuers = append(cfg.Issuers, iss)
	}
	var issuer string // the only issuer, if there is one
	if len(cfg.Issuers) == 1 {
		issuer = cfg.Issuers[0]
	}
	endpoint := get("TOKENGATE_INTROSPECTION_URL")
	switch mode := strings.ToLower(get("TOKENGATE_JWT_ACCESS_TOKENS")); mode {
	case "", "introspect":
	case "local":
		cfg.JWTAccessTokens = true
		if len(cfg.Issuers) == 0 {
			bad("TOKENGATE_JWT_ACCESS_TOKENS=local needs TOKENGATE_ISSUER, whose metadata names the keys")
		}
	default:
		bad("TOKENGATE_JWT_ACCESS_TOKENS=%q: want local or introspect", mode)
	}
	switch {
	case len(cfg.Issuers) == 0 && endpoint == "":
		bad("set TOKENGATE_ISSUER (the endpoint is discovered) or TOKENGATE_INTROSPECTION_URL")
	case len(cfg.Issuers) > 0 && endpoint != "":
		bad("set only one of TOKENGATE_ISSUER and TOKENGATE_INTROSPECTION_URL")
	case len(cfg.Issuers) > 0:
		cfg.Introspect.Issuer = cfg.Issuers[0]
	default:
		if err := checkURL(endpoint); err != nil {
			bad("TOKENGATE_INTROSPECTION_URL: %v", err)
		}
		cfg.Introspect.IntrospectionURL = endpoint
	}

	id, secret, auth, bearer := get("TOKENGATE_CLIENT_ID"), getenv("TOKENGATE_CLIENT_SECRET"), get("TOKENGATE_CLIENT_AUTH"), get("TOKENGATE_BEARER_TOKEN")
	switch {
	case bearer != "" && (id != "" || secret != ""):
		bad("set either TOKENGATE_BEARER_TOKEN or TOKENGATE_CLIENT_ID and TOKENGATE_CLIENT_SECRET, not both")
	case bearer != "":
		if auth != "" {
			bad("TOKENGATE_CLIENT_AUTH applies to TOKENGATE_CLIENT_ID and TOKENGATE_CLIENT_SECRET, not to TOKENGATE_BEARER_TOKEN")
		}
		cfg.Introspect.TokenSource = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: bearer, TokenType: "Bearer"})
	case id == "" && secret == "" && cfg.JWTAccessTokens:
		cfg.NoIntrospection = true
		cfg.Notes = append(cfg.Notes, "no introspection credentials (TOKENGATE_CLIENT_ID and TOKENGATE_CLIENT_SECRET, or TOKENGATE_BEARER_TOKEN): only JWT access tokens are accepted, opaque tokens are refused")
	case id == "" && secret == "":
		bad("set TOKENGATE_CLIENT_ID and TOKENGATE_CLIENT_SECRET, or TOKENGATE_BEARER_TOKEN, to authenticate to the authorization server")
	case id == "":
		bad("TOKENGATE_CLIENT_SECRET is set but TOKENGATE_CLIENT_ID is not")
	case secret == "":
		bad("TOKENGATE_CLIENT_ID is set but TOKENGATE_CLIENT_SECRET is not")
	default:
		cfg.Introspect.ClientID, cfg.Introspect.ClientSecret = id, secret
		switch strings.ToLower(auth) {
		case "", "basic", "client_secret_basic":
			cfg.Introspect.AuthStyle = introspect.AuthStyleBasic
		case "post", "client_secret_post":
			cfg.Introspect.AuthStyle = introspect.AuthStylePost
		default:
			bad("TOKENGATE_CLIENT_AUTH=%q: want basic or post", auth)
		}
	}

	for _, a := range strings.Split(get("TOKENGATE_AUDIENCE"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.Guard.Audiences = append(cfg.Guard.Audiences, a)
		}
	}
	if len(cfg.Guard.Audiences) == 0 && cfg.JWTAccessTokens {
		bad("TOKENGATE_JWT_ACCESS_TOKENS=local needs TOKENGATE_AUDIENCE: a JWT is accepted only for one of our audiences")
	} else if len(cfg.Guard.Audiences) == 0 {
		cfg.Guard.SkipAudienceCheck = true
		cfg.Notes = append(cfg.Notes, "TOKENGATE_AUDIENCE is not set: the audience check is skipped, so tokens issued for any resource server of this AS are accepted")
	}
	cfg.Guard.Realm = "tokengate example"

	keyPath := get("TOKENGATE_RS_KEY")
	var wantJWT, wantEncrypted bool
	switch v := strings.ToLower(get("TOKENGATE_JWT_RESPONSE")); v {
	case "", "json":
		if keyPath != "" {
			bad("TOKENGATE_RS_KEY is set but TOKENGATE_JWT_RESPONSE is not: set TOKENGATE_JWT_RESPONSE=encrypted (or signed)")
		}
	case "signed":
		wantJWT = true
	case "encrypted":
		wantJWT, wantEncrypted = true, true
		if keyPath == "" {
			bad("TOKENGATE_JWT_RESPONSE=encrypted needs TOKENGATE_RS_KEY, the private key that decrypts the answers")
		}
	default:
		bad("TOKENGATE_JWT_RESPONSE=%q: want signed, encrypted or json", v)
	}
	if wantJWT {
		if issuer == "" {
			bad("RFC 9701 answers (TOKENGATE_JWT_RESPONSE) need TOKENGATE_ISSUER (exactly one), whose keys sign them")
		}
		if id == "" {
			bad("RFC 9701 answers (TOKENGATE_JWT_RESPONSE) need TOKENGATE_CLIENT_ID, to whom they are addressed")
		}
		cfg.JWT = &jwtintrospect.Config{Issuer: issuer, ClientID: id, RequireEncryption: wantEncrypted}
		if keyPath != "" {
			key, err := jwtintrospect.LoadKey(keyPath)
			if err != nil {
				bad("TOKENGATE_RS_KEY: %v", err)
			} else {
				cfg.JWT.DecryptionKeys = []*jwtintrospect.Key{key}
			}
		}
	}

	if res := get("TOKENGATE_RESOURCE"); res != "" {
		mdURL, err := rs.MetadataURL(res)
		if err != nil {
			bad("TOKENGATE_RESOURCE: %v", err)
		}
		cfg.Resource, cfg.Guard.ResourceMetadataURL = res, mdURL
	}

	loadFleet(cfg, get, getenv, bad)

	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return cfg, nil
}

// loadFleet reads the settings of a fleet of replicas: the shared tier and
// revocation events.
func loadFleet(cfg *Config, get, getenv func(string) string, bad func(string, ...any)) {
	cfg.RedisURL = get("TOKENGATE_REDIS_URL")
	keys := getenv("TOKENGATE_SHARED_CACHE_KEY")
	switch {
	case cfg.RedisURL == "" && keys != "":
		bad("TOKENGATE_SHARED_CACHE_KEY is set but TOKENGATE_REDIS_URL is not: the key authenticates verdicts shared through Redis")
	case cfg.RedisURL == "":
	case keys == "":
		bad("TOKENGATE_REDIS_URL needs TOKENGATE_SHARED_CACHE_KEY, at least %d random characters (openssl rand -base64 32), the same on every replica: "+
			"it authenticates the verdicts in Redis, so that whoever can write to Redis cannot mint one", introspect.MinSharedKeyBytes)
	default:
		if _, err := redis.ParseURL(cfg.RedisURL); err != nil {
			bad("TOKENGATE_REDIS_URL is not a Redis URL (redis://host:port/db, rediss:// or unix://)") // the URL may hold a password
		}
		for i, k := range strings.Split(keys, ",") {
			if k = strings.TrimSpace(k); len(k) < introspect.MinSharedKeyBytes {
				bad("TOKENGATE_SHARED_CACHE_KEY: key %d is %d characters, want at least %d (openssl rand -base64 32)", i+1, len(k), introspect.MinSharedKeyBytes)
			} else {
				cfg.SharedKeys = append(cfg.SharedKeys, []byte(k))
			}
		}
	}
	switch v := strings.ToLower(get("TOKENGATE_REVOCATION_EVENTS")); v {
	case "", "off":
	case "on":
		cfg.RevocationEvents = true
		if len(cfg.Issuers) == 0 {
			bad("TOKENGATE_REVOCATION_EVENTS=on needs TOKENGATE_ISSUER: the event endpoint is found in its metadata")
		}
		if cfg.Introspect.ClientID == "" || cfg.Introspect.ClientSecret == "" {
			bad("TOKENGATE_REVOCATION_EVENTS=on needs TOKENGATE_CLIENT_ID and TOKENGATE_CLIENT_SECRET: events are addressed to our client and polled with its credentials")
		}
	default:
		bad("TOKENGATE_REVOCATION_EVENTS=%q: want on or off", v)
	}
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// Service is what Build makes of a Config.
type Service struct {
	// Guard protects the API.
	Guard *rs.Guard
	// Public maps paths to handlers that need no token: the RFC 9728
	// metadata document and the JWK Set of our decryption key, when
	// configured.
	Public map[string]http.Handler

	closers []func() error
	// pingers are the introspection clients (or caches over one), and the
	// revocation event subscribers, checked by Ping.
	pingers []interface{ Ping(context.Context) error }
	// redis is the shared tier, checked by Ping without failing it.
	redis *rediscache.Store
	log   *slog.Logger
}

// Ping checks that every authorization server we introspect at answers
// and accepts our credentials (see introspect.Cache.Ping), so that a
// mistake shows at start-up instead of as 503s on the first requests.
//
// A Redis that does not answer is logged, not an error: the shared tier
// only saves introspections, and the service works without it.
func (s *Service) Ping(ctx context.Context) error {
	for _, p := range s.pingers {
		if err := p.Ping(ctx); err != nil {
			return err
		}
	}
	if s.redis != nil {
		if err := s.redis.Ping(ctx); err != nil {
			s.log.Warn("the shared verdict tier (TOKENGATE_REDIS_URL) does not answer; going on without it until it does", "error", err)
		}
	}
	return nil
}

// Close releases what Build started (the JWK Set refreshes, the revocation
// event subscribers, the Redis client), the last started first.
func (s *Service) Close() error {
	var errs []error
	for _, c := range slices.Backward(s.closers) {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Build creates the introspection client (with an RFC 9701 decoder if
// configured), the guard and the public handlers, logging the notes to log.
// scopesSupported is published in the RFC 9728 metadata.
func (c *Config) Build(log *slog.Logger, scopesSupported []string) (*Service, error) {
	for _, n := range c.Notes {
		log.Warn(n)
	}
	svc := &Service{Public: map[string]http.Handler{}, log: log}
	cc := introspect.CacheConfig{Logger: log}
	var rdb *redis.Client
	if c.RedisURL != "" {
		opts, err := redis.ParseURL(c.RedisURL)
		if err != nil {
			return nil, errors.New("TOKENGATE_REDIS_URL is not a Redis URL")
		}
		rediscache.BoundOptions(opts, rediscache.DefaultOpTimeout)
		// go-redis logs a failed dial on its own, once per attempt:
		// through log, rate-limited, like the cache's own lines.
		redis.SetLogger(rediscache.Logger(log))
		rdb = redis.NewClient(opts)
		svc.closers = append(svc.closers, rdb.Close)
		if svc.redis, err = rediscache.New(rediscache.Config{Client: rdb}); err != nil {
			_ = svc.Close()
			return nil, err
		}
		cc.Shared, cc.SharedKeys = svc.redis, c.SharedKeys
	}
	ic := c.Introspect
	ic.Logger = log
	var dec *jwtintrospect.Decoder
	if c.JWT != nil {
		jc := *c.JWT
		jc.Logger = log
		var err error
		if dec, err = jwtintrospect.New(jc); err != nil {
			return nil, err
		}
		svc.closers = append(svc.closers, dec.Close)
		ic.Decoder = dec
		if len(jc.DecryptionKeys) > 0 {
			svc.Public[JWKSPath] = dec.JWKSHandler()
		}
	}
	var cache *introspect.Cache
	validators := map[string]*jwtaccess.Validator{} // by issuer
	if !c.JWTAccessTokens && len(c.Issuers) <= 1 {
		c.observe(&ic)
		client, err := introspect.NewClient(ic)
		if err != nil {
			_ = svc.Close()
			return nil, err
		}
		// As introspect.New does, with the shared tier when configured.
		cc.Observer = ic.Observer
		if cache, err = introspect.NewCache(client, cc); err != nil {
			_ = svc.Close()
			return nil, err
		}
		svc.pingers = append(svc.pingers, cache)
	} else {
		router, err := c.route(ic, log, svc, validators)
		if err != nil {
			_ = svc.Close()
			return nil, err
		}
		// One verdict cache above the router: JWT and opaque verdicts
		// alike, as introspect.New puts one above a lone client.
		if cache, err = introspect.NewCache(router, cc); err != nil {
			_ = svc.Close()
			return nil, err
		}
	}
	if c.RevocationEvents {
		for _, iss := range c.Issuers {
			feed, err := revocationfeed.New(revocationfeed.Config{
				Issuer: iss, ClientID: ic.ClientID, ClientSecret: ic.ClientSecret,
				Cache: cache, JWT: revoker(validators[iss]), Redis: redisOrNil(rdb), Logger: log, Observer: cc.Observer,
			})
			if err != nil {
				_ = svc.Close()
				return nil, err
			}
			svc.closers = append(svc.closers, feed.Close)
			svc.pingers = append(svc.pingers, feedPinger{feed})
		}
	}
	var validator rs.Introspector = cache
	gc := c.Guard
	gc.Introspector = validator
	gc.Logger = log
	var err error
	if svc.Guard, err = rs.New(gc); err != nil {
		_ = svc.Close()
		return nil, err
	}
	if c.Resource != "" {
		md := rs.ResourceMetadata{Resource: c.Resource, ScopesSupported: scopesSupported}
		md.AuthorizationServers = c.Issuers
		u, _ := url.Parse(c.Guard.ResourceMetadataURL) // checked by Load
		if _, ok := svc.Public[JWKSPath]; ok {
			md.JWKSURI = u.Scheme + "://" + u.Host + JWKSPath
		}
		h, err := svc.Guard.MetadataHandler(md)
		if err != nil {
			_ = svc.Close()
			return nil, err
		}
		svc.Public[u.Path] = h
	}
	return svc, nil
}

// route builds a router over the issuers: for each, a JWT validator when
// JWTAccessTokens is set and an introspection client (ic, for that issuer,
// without a cache of its own) unless NoIntrospection is.
func (c *Config) route(ic introspect.Config, log *slog.Logger, svc *Service, validators map[string]*jwtaccess.Validator) (*tokenroute.Router, error) {
	var issuers []tokenroute.Issuer
	for _, iss := range c.Issuers {
		ri := tokenroute.Issuer{Issuer: iss}
		if c.JWTAccessTokens {
			v, err := jwtaccess.New(jwtaccess.Config{Issuer: iss, Audiences: c.Guard.Audiences, Logger: log})
			if err != nil {
				return nil, err
			}
			svc.closers = append(svc.closers, v.Close)
			ri.JWT = v
			validators[iss] = v
		}
		if !c.NoIntrospection {
			ic.Issuer = iss
			c.observe(&ic)
			client, err := introspect.NewClient(ic)
			if err != nil {
				return nil, err
			}
			ri.Opaque = client
			svc.pingers = append(svc.pingers, client)
		}
		issuers = append(issuers, ri)
	}
	return tokenroute.New(tokenroute.Config{Issuers: issuers})
}

// observe gives ic an observer of its own from ClientObserver, if set.
func (c *Config) observe(ic *introspect.Config) {
	if c.ClientObserver != nil {
		ic.Observer = c.ClientObserver()
	}
}

// revoker returns v as a revocationfeed.Revoker, or nil (not a typed nil)
// without one.
func revoker(v *jwtaccess.Validator) revocationfeed.Revoker {
	if v == nil {
		return nil
	}
	return v
}

// redisOrNil returns c as a redis.UniversalClient, or nil without one.
func redisOrNil(c *redis.Client) redis.UniversalClient {
	if c == nil {
		return nil
	}
	return c
}

// feedPinger says which setting a failed check of the event stream is
// about.
type feedPinger struct{ feed *revocationfeed.Subscriber }

func (p feedPinger) Ping(ctx context.Context) error {
	if err := p.feed.Ping(ctx); err != nil {
		return fmt.Errorf("TOKENGATE_REVOCATION_EVENTS=on: %w", err)
	}
	return nil
}
