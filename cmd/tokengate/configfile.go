package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/tokengate/tokengate/internal/strictjson"
)

// maxConfigFileBytes bounds a configuration file.
const maxConfigFileBytes = 1 << 20

// applyConfigFile sets the flags the command line did not give from the
// JSON object in the file at path ("" for none): each member is named as a
// flag, without dashes, and holds a string, a number, a boolean, or for a
// flag given several times a list of strings. A flag given on the command
// line keeps its value, and one set here keeps the environment out (see
// [flagSet.applyEnvironment]). JSON, from the standard library, because a
// file that every language and tool can write needs no module of its own.
func (f *flagSet) applyConfigFile(path string) error {
	if path == "" {
		return nil
	}
	data, err := readConfigFile(path)
	if err != nil {
		return err
	}
	var members map[string]json.RawMessage
	if err := strictjson.Unmarshal(data, &members); err != nil {
		return fmt.Errorf("%s: want one JSON object with each setting once: %v", path, err)
	}
	onCommandLine := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { onCommandLine[fl.Name] = true })
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fl := f.Lookup(name)
		if fl == nil || name == "config" {
			if near := f.nearestFlag(name); near != "" && near != "config" {
				return fmt.Errorf("%s: unknown setting %q; did you mean %q?", path, name, near)
			}
			return fmt.Errorf("%s: unknown setting %q", path, name)
		}
		if onCommandLine[name] {
			continue
		}
		values, err := configValues(members[name])
		if _, repeatable := fl.Value.(*stringList); err == nil && len(values) != 1 && !repeatable {
			err = fmt.Errorf("takes one value, not a list of %d", len(values))
		}
		if err != nil {
			return fmt.Errorf("%s: %q: %v", path, name, err)
		}
		for _, v := range values {
			if err := f.Set(name, v); err != nil {
				return fmt.Errorf("%s: %q: %v", path, name, err)
			}
		}
		f.fromEnv[name] = fmt.Sprintf("%q in %s", name, path)
	}
	return nil
}

// readConfigFile reads at most maxConfigFileBytes of the file.
func readConfigFile(path string) ([]byte, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(io.LimitReader(file, maxConfigFileBytes+1)); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if b.Len() > maxConfigFileBytes {
		return nil, fmt.Errorf("%s is longer than %d bytes", path, maxConfigFileBytes)
	}
	return b.Bytes(), nil
}

// configValues turns a member's value into flag values: a string, number or
// boolean is one, a list of strings is one each.
func configValues(raw json.RawMessage) ([]string, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case json.Number:
		return []string{v.String()}, nil
	case bool:
		return []string{strconv.FormatBool(v)}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("a list holds strings only, not %v", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a string, a number, a boolean or a list of strings")
}
