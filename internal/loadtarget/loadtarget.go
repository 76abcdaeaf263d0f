// Package loadtarget holds what the load targets of scripts/loadtest.sh
// (internal/cmd/rstarget: a resource server, RFC 6750 and RFC 7662) and
// scripts/bench-provider.sh (internal/cmd/astarget: the provider's token and
// RFC 7662 introspection endpoints) share: listening on loopback, telling the script
// where they listen, and serving until told to stop or until a deadline, so
// that a target left behind by a killed script does not run forever.
//
// The targets are tools for measuring with wrk by hand, not part of the
// library; nothing here is imported outside those two programs.
package loadtarget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux, served by Pprof only
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// Listen listens on addr, which must be a loopback address: the targets
// serve test credentials and must not be reachable from elsewhere.
func Listen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("loadtarget: address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("loadtarget: address %q is not a loopback IP address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("loadtarget: %w", err)
	}
	return ln, nil
}

// WriteInfo writes v as JSON to path, readable by its owner only (it holds
// client secrets and a token of the target's throwaway authorization
// server). The file appears at once, complete, so a script may poll for it.
func WriteInfo(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("loadtarget: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".loadtarget-info-*")
	if err != nil {
		return fmt.Errorf("loadtarget: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("loadtarget: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("loadtarget: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("loadtarget: %w", err)
	}
	return nil
}

// Pprof returns a Server for net/http/pprof's handlers on the loopback
// address addr, so that a profile can be taken during a wrk run:
//
//	go tool pprof -seconds 10 http://ADDR/debug/pprof/profile
func Pprof(addr string) (Server, error) {
	ln, err := Listen(addr)
	if err != nil {
		return Server{}, err
	}
	return Server{Listener: ln, Handler: http.DefaultServeMux}, nil
}

// Server is one handler on one listener.
type Server struct {
	Listener net.Listener
	Handler  http.Handler
}

// Serve serves every server until ctx is done, SIGINT or SIGTERM arrives,
// exitAfter has passed (if positive), or a server fails; then it shuts them
// all down, letting requests in flight finish for up to 5 seconds.
func Serve(ctx context.Context, exitAfter time.Duration, servers ...Server) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if exitAfter > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, exitAfter)
		defer cancel()
	}
	errc := make(chan error, len(servers))
	https := make([]*http.Server, len(servers))
	for i, s := range servers {
		hs := &http.Server{Handler: s.Handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
		https[i] = hs
		go func() { errc <- hs.Serve(s.Listener) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, hs := range https {
		if serr := hs.Shutdown(sctx); serr != nil && err == nil {
			err = serr
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("loadtarget: %w", err)
	}
	return nil
}
