package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// flagSet is a flag.FlagSet for "tokengate <name>" that knows its usage
// text and where to print it.
type flagSet struct {
	*flag.FlagSet
	e           *env
	cmd         string // e.g. "client create"
	synopsis    string // the arguments after the command name
	description string
}

// newFlagSet returns the flag set of "tokengate cmd". Package flag never
// prints anything itself: parse does.
func newFlagSet(e *env, cmd, synopsis, description string) *flagSet {
	fs := flag.NewFlagSet("tokengate "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, e: e, cmd: cmd, synopsis: synopsis, description: description}
}

func (f *flagSet) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: tokengate %s", f.cmd)
	if f.synopsis != "" {
		fmt.Fprintf(w, " %s", f.synopsis)
	}
	fmt.Fprintf(w, "\n\n%s\n", strings.TrimSpace(f.description))
	first := true
	f.VisitAll(func(fl *flag.Flag) {
		if first {
			fmt.Fprint(w, "\nFlags:\n")
			first = false
		}
		// Like flag.PrintDefaults, but with the "--name" spelling the
		// documentation uses (package flag accepts both).
		name, usage := flag.UnquoteUsage(fl)
		fmt.Fprintf(w, "  --%s", fl.Name)
		if name != "" {
			fmt.Fprintf(w, " %s", name)
		}
		fmt.Fprintf(w, "\n    \t%s", strings.ReplaceAll(usage, "\n", "\n    \t"))
		if fl.DefValue != "" && fl.DefValue != "false" && fl.DefValue != "0" && fl.DefValue != "0s" {
			fmt.Fprintf(w, " (default %s)", fl.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// parse parses args, allowing flags after positional arguments
// ("introspect TOKEN --client-id x"); "--" ends the flags. It returns the
// positional arguments, or ok=false with the exit code to return: 0 after
// printing the usage to stdout for -h, 2 after printing the error and the
// usage to stderr.
func (f *flagSet) parse(args []string) (positional []string, code int, ok bool) {
	for {
		err := f.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			f.printUsage(f.e.stdout)
			return nil, exitOK, false
		}
		if err != nil {
			fmt.Fprintf(f.e.stderr, "tokengate %s: %v\n\n", f.cmd, err)
			f.printUsage(f.e.stderr)
			return nil, exitUsage, false
		}
		rest := f.Args()
		if len(rest) == 0 {
			return positional, 0, true
		}
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), 0, true
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// usageError prints a command-line mistake and a hint to stderr and returns
// exitUsage.
func (f *flagSet) usageError(format string, a ...any) int {
	fmt.Fprintf(f.e.stderr, "tokengate %s: %s\nRun \"tokengate %s -h\" for usage.\n", f.cmd, fmt.Sprintf(format, a...), f.cmd)
	return exitUsage
}

// fail prints err to stderr, prefixed with the command, and returns code.
func (f *flagSet) fail(code int, err error) int {
	fmt.Fprintf(f.e.stderr, "tokengate %s: %v\n", f.cmd, err)
	return code
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// authFlag is an --auth flag: "basic" (client_secret_basic, the default) or
// "post" (client_secret_post).
type authFlag string

func (a *authFlag) String() string { return string(*a) }

func (a *authFlag) Set(v string) error {
	switch strings.ToLower(v) {
	case "basic", "client_secret_basic":
		*a = "basic"
	case "post", "client_secret_post":
		*a = "post"
	default:
		return fmt.Errorf("want basic or post, not %q", v)
	}
	return nil
}
