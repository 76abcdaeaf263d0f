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
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux, served by Pprof only
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tokengate/tokengate/internal/httpserver"
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

// Options are the flags every target has.
type Options struct {
	// InfoPath is where Run writes the target's info (-info, required).
	InfoPath string
	// PprofAddr, if set, is a loopback address for net/http/pprof (-pprof).
	PprofAddr string
	// ExitAfter stops the target by itself (-exit-after; 0: never).
	ExitAfter time.Duration
}

// AddFlags defines -info, -pprof and -exit-after on fs; they fill the
// returned Options when fs is parsed.
func AddFlags(fs *flag.FlagSet) *Options {
	o := &Options{}
	fs.StringVar(&o.InfoPath, "info", "", "`file` to write the endpoints and credentials to, once listening (required)")
	fs.StringVar(&o.PprofAddr, "pprof", "", "loopback `address` to serve net/http/pprof on (e.g. 127.0.0.1:6060; default: none)")
	fs.DurationVar(&o.ExitAfter, "exit-after", 15*time.Minute, "stop by itself after this `duration` (0: never)")
	return o
}

// Run writes info to o.InfoPath, adds the pprof server if asked for, and
// serves (see [Serve]) until told to stop.
func Run(ctx context.Context, logger *slog.Logger, o Options, info any, servers ...Server) error {
	if err := WriteInfo(o.InfoPath, info); err != nil {
		return err
	}
	if o.PprofAddr != "" {
		ps, err := Pprof(o.PprofAddr)
		if err != nil {
			return err
		}
		servers = append(servers[:len(servers):len(servers)], ps)
	}
	return Serve(ctx, logger, o.ExitAfter, servers...)
}

// Server is one handler on one listener.
type Server = httpserver.Server

// Serve serves every server with the limits of package httpserver until
// ctx is done, SIGINT or SIGTERM arrives, exitAfter has passed (if
// positive), or a server fails; then it shuts them all down, letting
// requests in flight finish. The servers' own errors go to logger.
func Serve(ctx context.Context, logger *slog.Logger, exitAfter time.Duration, servers ...Server) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if exitAfter > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, exitAfter)
		defer cancel()
	}
	if err := httpserver.Serve(ctx, logger, servers...); err != nil {
		return fmt.Errorf("loadtarget: %w", err)
	}
	return nil
}
