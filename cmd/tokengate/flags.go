package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// flagSet is a flag.FlagSet for "tokengate <name>" that knows its usage
// text, where to print it, and the environment variables of its flags.
type flagSet struct {
	*flag.FlagSet
	e           *env
	cmd         string // e.g. "client create"
	synopsis    string // the arguments after the command name
	description string
	// fromEnv maps the flags that parse set from the environment (or from
	// a configuration file) to where they came from, so that errors name
	// what the user set.
	fromEnv map[string]string
	// beforeEnvironment, if set, runs after the command line is parsed and
	// before the environment fills the flags it did not give: "proxy"
	// reads its --config file there.
	beforeEnvironment func() error
}

// newFlagSet returns the flag set of "tokengate cmd". Package flag never
// prints anything itself: parse does.
func newFlagSet(e *env, cmd, synopsis, description string) *flagSet {
	fs := flag.NewFlagSet("tokengate "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, e: e, cmd: cmd, synopsis: synopsis, description: description, fromEnv: map[string]string{}}
}

// Duration defines a duration flag whose parse errors say what a duration
// looks like (package flag says only "parse error") and which refuses a
// negative value.
func (f *flagSet) Duration(name string, value time.Duration, usage string) *time.Duration {
	d := durationFlag(value)
	f.Var(&d, name, usage)
	return (*time.Duration)(&d)
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
		if v := envFor(fl.Name); v != nil {
			fmt.Fprintf(w, " [$%s]", v.name)
		}
		fmt.Fprintln(w)
	})
}

// parse parses args, allowing flags after positional arguments
// ("introspect TOKEN --client-id x"); "--" ends the flags. Flags not given
// are then taken from the environment (see [environment]). It returns the
// positional arguments, or ok=false with the exit code to return: 0 after
// printing the usage to stdout for -h, 2 after printing a one-line error to
// stderr.
func (f *flagSet) parse(args []string) (positional []string, code int, ok bool) {
	for {
		err := f.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			f.printUsage(f.e.stdout)
			return nil, exitOK, false
		}
		if err != nil {
			return nil, f.usageError("%s", f.explain(err)), false
		}
		rest := f.Args()
		if len(rest) == 0 {
			break
		}
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	if f.beforeEnvironment != nil {
		if err := f.beforeEnvironment(); err != nil {
			return nil, f.usageError("%v", err), false
		}
	}
	if err := f.applyEnvironment(); err != nil {
		return nil, f.usageError("%v", err), false
	}
	return positional, 0, true
}

// parseNoArgs is parse for a command that takes flags only.
func (f *flagSet) parseNoArgs(args []string) (code int, ok bool) {
	pos, code, ok := f.parse(args)
	if ok && len(pos) > 0 {
		return f.usageError("unexpected argument %q", pos[0]), false
	}
	return code, ok
}

// The errors package flag returns, to be rewritten by explain.
var (
	errUndefined = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)
	errNoValue   = regexp.MustCompile(`^flag needs an argument: -+(.+)$`)
	errBadValue  = regexp.MustCompile(`^invalid (boolean )?value "(.*)" for (?:flag )?-+([^:]+): (.*)$`)
)

// explain rewrites an error of package flag as one line that names the flag
// the way the documentation spells it and says what would fix it.
func (f *flagSet) explain(err error) string {
	msg := err.Error()
	if m := errUndefined.FindStringSubmatch(msg); m != nil {
		if near := f.nearestFlag(m[1]); near != "" {
			return fmt.Sprintf("unknown flag --%s; did you mean --%s?", m[1], near)
		}
		return fmt.Sprintf("unknown flag --%s", m[1])
	}
	if m := errNoValue.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("--%s needs a value", m[1])
	}
	if m := errBadValue.FindStringSubmatch(msg); m != nil {
		if m[1] != "" {
			return fmt.Sprintf("--%s %q: it is a switch: give --%s alone, or --%s=false", m[3], m[2], m[3], m[3])
		}
		return fmt.Sprintf("--%s %q: %s", m[3], m[2], m[4])
	}
	return msg
}

// nearestFlag returns the defined flag closest to name (a typo: one edit
// per three letters, at most two; or name as a prefix), or "".
func (f *flagSet) nearestFlag(name string) string {
	best, bestDist := "", min(2, len(name)/3)+1
	f.VisitAll(func(fl *flag.Flag) {
		d := editDistance(name, fl.Name)
		if strings.HasPrefix(fl.Name, name) && len(name) >= 3 {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = fl.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// usageError prints a command-line mistake on one line, with where to read
// more, to stderr and returns exitUsage.
func (f *flagSet) usageError(format string, a ...any) int {
	fmt.Fprintf(f.e.stderr, "tokengate %s: %s (see \"tokengate %s -h\")\n", f.cmd, fmt.Sprintf(format, a...), f.cmd)
	return exitUsage
}

// fail prints err to stderr, prefixed with the command, and returns code.
func (f *flagSet) fail(code int, err error) int {
	fmt.Fprintf(f.e.stderr, "tokengate %s: %v\n", f.cmd, err)
	return code
}

// origin is how the user gave the flag name: its environment variable if
// parse took it from there, otherwise --name.
func (f *flagSet) origin(name string) string {
	if v, ok := f.fromEnv[name]; ok {
		return v
	}
	return "--" + name
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// durationFlag is a time.Duration flag that explains its errors.
type durationFlag time.Duration

func (d *durationFlag) String() string { return time.Duration(*d).String() }

func (d *durationFlag) Set(v string) error {
	x, err := time.ParseDuration(v)
	if err != nil {
		if _, nerr := strconv.ParseFloat(v, 64); nerr == nil {
			return fmt.Errorf("a duration needs a unit, e.g. %sm, %ss or %sh", v, v, v)
		}
		return errors.New("want a duration such as 90s, 15m or 1h30m")
	}
	if x < 0 {
		return errors.New("a duration must not be negative")
	}
	*d = durationFlag(x)
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
