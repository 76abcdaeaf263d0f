package main

import (
	"context"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/tokengate/tokengate/provider"
)

// runKeysRotate implements "tokengate keys rotate".
func runKeysRotate(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "keys rotate", "--db PATH [--alg RS256|ES256|EdDSA]", `Replace the active signing key of one family (--alg), or of every family.

The key it replaces stops signing at once but stays in the JWK Set until
everything it signed has expired. A server running on the same database
picks the new key up within a minute.`)
	dbPath := fs.String("db", defaultDBPath, dbUsage)
	alg := fs.String("alg", "", "key `family` to rotate: RS256, ES256 or EdDSA (default: all)")
	if code, ok := fs.parseNoArgs(args); !ok {
		return code
	}
	var algs []string
	if *alg != "" {
		if !slices.Contains([]string{provider.AlgRS256, provider.AlgES256, provider.AlgEdDSA}, *alg) {
			return fs.usageError("--alg %q is not RS256, ES256 or EdDSA", *alg)
		}
		algs = []string{*alg}
	}
	admin, st, err := openDB(ctx, *dbPath, true)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer st.Close()
	if err := admin.RotateKeys(ctx, algs...); err != nil {
		return fs.fail(exitFailure, err)
	}
	keys, err := st.Keys(ctx)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED")
	for _, k := range keys { // newest first
		state := "active"
		if !k.Active() {
			state = "retired, published until " + k.NotAfter.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Alg, state, k.CreatedAt.UTC().Format(time.RFC3339))
	}
	tw.Flush()
	return exitOK
}
