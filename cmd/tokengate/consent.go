package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tokengate/tokengate/provider/users"
)

const consentDoc = `List and revoke what users consented to: which clients may act for them,
with which scopes. Revoking a consent also revokes the tokens that user's
consent gave the client (refresh tokens included) at once, also on a running
server, and the user is asked again at the next sign-in.`

// consentCommands is the "consent" group of the command table.
func consentCommands() command {
	return command{name: "consent", summary: "list and revoke users' consents to clients (list | revoke)", doc: consentDoc, sub: []command{
		{name: "list", summary: "list the clients a user consented to", run: runConsentList},
		{name: "revoke", summary: "revoke a user's consent, and the tokens it gave, to one client or all", run: runConsentRevoke},
	}}
}

// userFlags are --user and --sub: whose consents.
type userFlags struct {
	fs        *flagSet
	username  *string
	subject   *string
	dbPath    *string
	resolved  string // the subject, after resolve
	shownName string // how the output names the user
}

func addUserFlags(fs *flagSet) *userFlags {
	return &userFlags{
		fs:       fs,
		dbPath:   fs.String("db", defaultDBPath, dbUsage),
		username: fs.String("user", "", "the user's `username` (tokengate user list)"),
		subject:  fs.String("sub", "", "the user's `subject` instead of --user, for users an application signs in itself"),
	}
}

// check returns what is wrong with the flags, or "".
func (u *userFlags) check() string {
	switch {
	case *u.username == "" && *u.subject == "":
		return "give --user USERNAME (or --sub SUBJECT)"
	case *u.username != "" && *u.subject != "":
		return "give --user or --sub, not both"
	}
	return ""
}

// resolve finds the subject of --user in the database's users.
func (u *userFlags) resolve(ctx context.Context) error {
	if *u.subject != "" {
		u.resolved, u.shownName = *u.subject, *u.subject
		return nil
	}
	dir, st, err := openUsers(ctx, *u.dbPath, true)
	if err != nil {
		return err
	}
	defer st.Close()
	usr, err := dir.Lookup(ctx, *u.username)
	if errors.Is(err, users.ErrNotFound) {
		return fmt.Errorf("no user %q (see \"tokengate user list\"; --sub names a user by subject)", *u.username)
	}
	if err != nil {
		return err
	}
	u.resolved, u.shownName = usr.Subject, usr.Username
	return nil
}

// consentView is how list shows a consent.
type consentView struct {
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes"`
	GrantedAt time.Time `json:"granted_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// runConsentList implements "tokengate consent list".
func runConsentList(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "consent list", "--db PATH --user USERNAME [--json]", "List the clients a user consented to, with the scopes and when the consent lapses.")
	who := addUserFlags(fs)
	asJSON := fs.Bool("json", false, "print a JSON array")
	if code, ok := fs.parseNoArgs(args); !ok {
		return code
	}
	if msg := who.check(); msg != "" {
		return fs.usageError("%s", msg)
	}
	if err := who.resolve(ctx); err != nil {
		return fs.fail(exitFailure, err)
	}
	admin, st, err := openDB(ctx, *who.dbPath, true)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer st.Close()
	consents, err := admin.Consents(ctx, who.resolved)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	views := make([]consentView, 0, len(consents))
	for _, c := range consents {
		scopes := c.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		views = append(views, consentView{ClientID: c.ClientID, Scopes: scopes, GrantedAt: c.GrantedAt.UTC(), ExpiresAt: c.ExpiresAt.UTC()})
	}
	if *asJSON {
		return printJSON(fs, views, exitOK)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tSCOPES\tGRANTED\tEXPIRES")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.ClientID, dash(strings.Join(v.Scopes, " ")), v.GrantedAt.Format(time.RFC3339), v.ExpiresAt.Format(time.RFC3339))
	}
	tw.Flush()
	return exitOK
}

// runConsentRevoke implements "tokengate consent revoke".
func runConsentRevoke(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "consent revoke", "--db PATH --user USERNAME [--client ID]",
		"Revoke a user's consent to a client (--client), or to every client, and every token of that user the consent gave, at once.")
	who := addUserFlags(fs)
	clientID := fs.String("client", "", "the client `id`; without it, every client")
	if code, ok := fs.parseNoArgs(args); !ok {
		return code
	}
	if msg := who.check(); msg != "" {
		return fs.usageError("%s", msg)
	}
	if err := who.resolve(ctx); err != nil {
		return fs.fail(exitFailure, err)
	}
	admin, st, err := openDB(ctx, *who.dbPath, true)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer st.Close()
	n, err := admin.RevokeConsent(ctx, who.resolved, *clientID)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	to := "every client"
	if *clientID != "" {
		to = *clientID
	}
	fmt.Fprintf(e.stdout, "revoked the consent of %s to %s: %d tokens revoked\n", who.shownName, to, n)
	return exitOK
}
