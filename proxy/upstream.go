package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"time"

	"github.com/tokengate/tokengate/internal/lograte"
	"github.com/tokengate/tokengate/rs"
)

// Bounds of the connections to the upstream.
const (
	dialTimeout           = 10 * time.Second
	maxIdleConnsPerHost   = 256
	idleConnTimeout       = 90 * time.Second
	maxResponseHeaderSize = 64 << 10
	copyBufferSize        = 32 << 10
)

// upstream is the reverse proxy of a Proxy.
type upstream struct {
	rp                 *httputil.ReverseProxy
	stripAuthorization bool
	idleTimeout        time.Duration
	logger             *slog.Logger
	// failures limits the log lines about failed upstream requests.
	failures lograte.Limiter
}

// identityKey carries the identity of an authorised request from forward
// to the Rewrite hook.
type identityKey struct{}

// newUpstream returns the forward function of a reverse Proxy.
func newUpstream(cfg Config) func(http.ResponseWriter, *http.Request, *rs.Principal) {
	if cfg.UpstreamTimeout == 0 {
		cfg.UpstreamTimeout = DefaultUpstreamTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	u := &upstream{stripAuthorization: cfg.StripAuthorization, idleTimeout: cfg.IdleTimeout, logger: cfg.Logger}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		// The environment's HTTP_PROXY is for this machine's outgoing
		// traffic, not for the service behind us.
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &idleConn{Conn: c, timeout: cfg.IdleTimeout}, nil
		},
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    dialTimeout,
		ResponseHeaderTimeout:  cfg.UpstreamTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConnsPerHost:    maxIdleConnsPerHost,
		IdleConnTimeout:        idleConnTimeout,
		MaxResponseHeaderBytes: maxResponseHeaderSize,
	}
	target := cfg.Upstream
	u.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			// Set here, after ReverseProxy has removed the hop-by-hop
			// headers, so that "Connection: X-Auth-Subject" cannot remove
			// the identity on the way.
			if id, ok := pr.In.Context().Value(identityKey{}).(identity); ok {
				id.set(pr.Out.Header)
			}
			if u.stripAuthorization {
				pr.Out.Header.Del("Authorization")
			}
		},
		Transport:    transport,
		BufferPool:   &bufferPool{},
		ErrorHandler: u.fail,
		ErrorLog:     slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return u.forward
}

// forward sends an authorised request upstream; p is nil on a public route.
func (u *upstream) forward(w http.ResponseWriter, r *http.Request, p *rs.Principal) {
	if p != nil {
		id, ok := identityOf(p)
		if !ok {
			refuse(w, http.StatusInternalServerError, "the token's identity cannot be sent in a header")
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
	}
	w, r = idleBounds(w, r, u.idleTimeout)
	u.rp.ServeHTTP(w, r)
}

// fail answers a request the upstream did not answer: 504 if it took too
// long, 502 otherwise.
func (u *upstream) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away; there is nobody to answer
	}
	if ok, held := u.failures.Allow(time.Now()); ok {
		u.logger.Warn("proxy: the upstream request failed", "method", r.Method, "path", r.URL.Path, "error", err, "held_back", held)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		refuse(w, http.StatusGatewayTimeout, "the upstream did not answer in time")
		return
	}
	refuse(w, http.StatusBadGateway, "the upstream could not be reached")
}

// bufferPool recycles the buffers ReverseProxy copies bodies through.
type bufferPool struct{ pool sync.Pool }

func (b *bufferPool) Get() []byte {
	if buf, ok := b.pool.Get().(*[copyBufferSize]byte); ok {
		return buf[:]
	}
	return make([]byte, copyBufferSize)
}

func (b *bufferPool) Put(buf []byte) {
	if len(buf) == copyBufferSize {
		b.pool.Put((*[copyBufferSize]byte)(buf))
	}
}
