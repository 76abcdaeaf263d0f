package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tokengate/tokengate/provider/users"
)

const userDoc = `Manage the people who sign in through the built-in pages of "tokengate
serve", in its database. Passwords are read from stdin (--password-stdin) or
typed at a prompt, never given as arguments (other local users can read the
command line), and stored as Argon2id hashes.`

// userCommands is the "user" group of the command table.
func userCommands() command {
	return command{name: "user", summary: "create, list and delete the users who sign in (create | list | delete | passwd)", doc: userDoc, sub: []command{
		{name: "create", summary: "create a user and print its subject", run: runUserCreate},
		{name: "list", summary: "list the users (never their password hashes)", run: runUserList},
		{name: "delete", summary: "delete users", run: runUserDelete},
		{name: "passwd", summary: "set a user's password", run: runUserPasswd},
	}}
}

// openUsers opens the users of the database db (see openUsersStore). With
// mustExist, a missing SQLite file is an error rather than a new empty
// database. The caller closes the store.
func openUsers(ctx context.Context, db string, mustExist bool) (*users.Directory, usersStore, error) {
	if mustExist {
		if err := checkDBExists(db, "create a user first, or start \"tokengate serve --db "+db+"\""); err != nil {
			return nil, nil, err
		}
	}
	st, err := openUsersStore(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	dir, err := users.New(users.Config{Store: st})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return dir, st, nil
}

// passwordFlag is the --password-stdin switch and how to honour it.
type passwordFlag struct {
	fs        *flagSet
	fromStdin *bool
}

func addPasswordFlag(fs *flagSet) passwordFlag {
	return passwordFlag{fs: fs, fromStdin: fs.Bool("password-stdin", false,
		"read the password from the first line of stdin (default: prompt for it on the terminal)")}
}

// read returns the new password: the first line of stdin with
// --password-stdin, or else what is typed, twice, at a prompt without
// echo. Without --password-stdin and without a terminal it is an error.
func (p passwordFlag) read() (string, error) {
	e := p.fs.e
	if *p.fromStdin {
		line, err := bufio.NewReaderSize(io.LimitReader(e.stdin, users.MaxPasswordBytes+2), users.MaxPasswordBytes+2).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reading the password from stdin: %w", err)
		}
		if !strings.HasSuffix(line, "\n") && len(line) > users.MaxPasswordBytes {
			return "", fmt.Errorf("the password on stdin is longer than %d bytes", users.MaxPasswordBytes)
		}
		return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
	}
	tty, ok := e.stdin.(*os.File)
	if !ok || !isTerminal(tty) {
		return "", errors.New("give --password-stdin, or run the command on a terminal to be asked for the password")
	}
	first, err := promptNoEcho(tty, e.stderr, "Password: ")
	if err != nil {
		return "", err
	}
	again, err := promptNoEcho(tty, e.stderr, "Password again: ")
	if err != nil {
		return "", err
	}
	if first != again {
		return "", errors.New("the two passwords differ")
	}
	return first, nil
}

// userFailure turns the directory's errors into the command's answer: a
// usage error for what the user typed, a failure otherwise.
func userFailure(fs *flagSet, err error) int {
	switch {
	case errors.Is(err, users.ErrInvalidUsername), errors.Is(err, users.ErrInvalidPassword):
		return fs.usageError("%v", strings.TrimPrefix(err.Error(), "users: "))
	case errors.Is(err, users.ErrExists), errors.Is(err, users.ErrNotFound):
		return fs.fail(exitFailure, errors.New(strings.TrimPrefix(err.Error(), "users: ")))
	}
	return fs.fail(exitFailure, err)
}

const userCreateUsage = `Create a user who can sign in through the built-in pages, and print the
user's subject: the "sub" claim of the user's tokens and ID tokens, random
and never changed. The password is read from stdin with --password-stdin,
else asked for on the terminal; it needs at least 8 characters.

	printf '%s\n' "$PASSWORD" | tokengate user create --db tokengate.db --username alice --password-stdin`

// runUserCreate implements "tokengate user create".
func runUserCreate(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "user create", "--db PATH --username NAME [--email E] [--name N] [--password-stdin] [--json]", userCreateUsage)
	dbPath := fs.String("db", defaultDBPath, dbUsage)
	username := fs.String("username", "", "the `name` the user signs in with (required)")
	email := fs.String("email", "", "the user's email `address` (the email claim)")
	emailVerified := fs.Bool("email-verified", false, "the email address is known to be the user's (email_verified: true)")
	name := fs.String("name", "", "the user's full `name` (the name claim)")
	password := addPasswordFlag(fs)
	asJSON := fs.Bool("json", false, `print {"sub": …, "username": …} as JSON`)
	if code, ok := fs.parseNoArgs(args); !ok {
		return code
	}
	if *username == "" {
		return fs.usageError("--username is required")
	}
	pw, err := password.read()
	if err != nil {
		return fs.usageError("%v", err)
	}
	dir, st, err := openUsers(ctx, *dbPath, false)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer st.Close()
	u, err := dir.Create(ctx, *username, pw, users.Profile{Name: *name, Email: *email, EmailVerified: *emailVerified})
	if err != nil {
		return userFailure(fs, err)
	}
	if *asJSON {
		return printJSON(fs, map[string]string{"sub": u.Subject, "username": u.Username}, exitOK)
	}
	fmt.Fprintf(e.stdout, "sub:      %s\nusername: %s\n", u.Subject, u.Username)
	return exitOK
}

// userView is how list shows a user: never the password hash.
type userView struct {
	Subject     string    `json:"sub"`
	Username    string    `json:"username"`
	Name        string    `json:"name,omitempty"`
	Email       string    `json:"email,omitempty"`
	HasPassword bool      `json:"has_password"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// runUserList implements "tokengate user list".
func runUserList(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "user list", "--db PATH [--json]", "List the users (never their password hashes).")
	dbPath := fs.String("db", defaultDBPath, dbUsage)
	asJSON := fs.Bool("json", false, "print a JSON array")
	if code, ok := fs.parseNoArgs(args); !ok {
		return code
	}
	dir, st, err := openUsers(ctx, *dbPath, true)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer st.Close()
	list, err := dir.List(ctx)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	views := make([]userView, 0, len(list))
	for _, u := range list {
		views = append(views, userView{Subject: u.Subject, Username: u.Username, Name: u.Profile.Name, Email: u.Profile.Email,
			HasPassword: u.PasswordHash != "", CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()})
	}
	if *asJSON {
		return printJSON(fs, views, exitOK)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SUB\tUSERNAME\tNAME\tEMAIL\tCREATED")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Subject, oneLine(v.Username), dash(oneLine(v.Name)), dash(oneLine(v.Email)), v.CreatedAt.Format(time.RFC3339))
	}
	tw.Flush()
	return exitOK
}

// runUserDelete implements "tokengate user delete".
func runUserDelete(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "user delete", "--db PATH USERNAME...",
		"Delete users: they can no longer sign in, their sessions end, and their consents and the tokens they gave are revoked, at once, also on a running server.")
	dbPath := fs.String("db", defaultDBPath, dbUsage)
	names, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(names) == 0 {
		return fs.usageError("want the username of the user to delete")
	}
	dir, st, err := openUsers(ctx, *dbPath, true)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer st.Close()
	admin, pst, err := openDB(ctx, *dbPath, true)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer pst.Close()
	for _, name := range names {
		u, err := dir.Lookup(ctx, name)
		if errors.Is(err, users.ErrNotFound) {
			return fs.fail(exitFailure, fmt.Errorf("no user %q", name))
		}
		if err != nil {
			return fs.fail(exitFailure, err)
		}
		// Access goes first: a failure after it leaves a user who can sign
		// in again, never tokens of a user who is gone.
		revoked, err := admin.RevokeConsent(ctx, u.Subject, "")
		if err != nil {
			return fs.fail(exitFailure, err)
		}
		if _, err := admin.EndSessions(ctx, u.Subject); err != nil {
			return fs.fail(exitFailure, err)
		}
		if _, err := dir.Delete(ctx, name); err != nil {
			return fs.fail(exitFailure, err)
		}
		fmt.Fprintf(e.stdout, "deleted %s (sub %s): %d tokens revoked\n", u.Username, u.Subject, revoked)
	}
	return exitOK
}

// runUserPasswd implements "tokengate user passwd".
func runUserPasswd(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "user passwd", "--db PATH --username NAME [--password-stdin]",
		"Set a user's password, read from stdin with --password-stdin, else asked for on the terminal.")
	dbPath := fs.String("db", defaultDBPath, dbUsage)
	username := fs.String("username", "", "the user's `name` (required)")
	password := addPasswordFlag(fs)
	if code, ok := fs.parseNoArgs(args); !ok {
		return code
	}
	if *username == "" {
		return fs.usageError("--username is required")
	}
	dir, st, err := openUsers(ctx, *dbPath, true)
	if err != nil {
		return fs.fail(exitFailure, err)
	}
	defer st.Close()
	if _, err := dir.Lookup(ctx, *username); errors.Is(err, users.ErrNotFound) {
		return fs.fail(exitFailure, fmt.Errorf("no user %q", *username))
	}
	pw, err := password.read()
	if err != nil {
		return fs.usageError("%v", err)
	}
	if err := dir.SetPassword(ctx, *username, pw); err != nil {
		return userFailure(fs, err)
	}
	fmt.Fprintf(e.stdout, "password of %s changed\n", *username)
	return exitOK
}
