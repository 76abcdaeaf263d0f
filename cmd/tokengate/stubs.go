package main

import (
	"context"
	"errors"
)

// notYet is a placeholder for the commands that need package provider.
func notYet(e *env, name string, args []string) int {
	fs := newFlagSet(e, name, "", "This command arrives with package provider.")
	if _, code, ok := fs.parse(args); !ok {
		return code
	}
	return fs.fail(exitFailure, errors.New("not available in this build yet"))
}

func runDemo(_ context.Context, e *env, args []string) int   { return notYet(e, "demo", args) }
func runServe(_ context.Context, e *env, args []string) int  { return notYet(e, "serve", args) }
func runClient(_ context.Context, e *env, args []string) int { return notYet(e, "client", args) }
func runKeys(_ context.Context, e *env, args []string) int   { return notYet(e, "keys", args) }
