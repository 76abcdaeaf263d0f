package pgdb

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://alice:s3cr3t@db.example:5432/tg?sslmode=verify-full", "postgres://alice:xxxxx@db.example:5432/tg?sslmode=verify-full"},
		{"postgresql://alice@db.example/tg", "postgresql://alice@db.example/tg"},
		{"postgres://db.example/tg?password=s3cr3t&user=alice", "postgres://db.example/tg?password=xxxxx&user=alice"},
		{"postgres://db.example/tg?sslpassword=s3cr3t", "postgres://db.example/tg?sslpassword=xxxxx"},
		{"postgres://alice:s3cr3t@[::1", "postgres://(unparsable DSN, hidden)"},
		{"host=db user=alice password=s3cr3t dbname=tg", "host=db user=alice password=xxxxx dbname=tg"},
		{"host=db password='s3 cr\\'3t' dbname=tg", "host=db password=xxxxx dbname=tg"},
		{"/var/lib/tokengate/tokengate.db", "/var/lib/tokengate/tokengate.db"},
	} {
		got := Redact(tc.dsn)
		if got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
		if strings.Contains(got, "s3") {
			t.Errorf("Redact(%q) = %q shows the password", tc.dsn, got)
		}
	}
}

func TestIsDSN(t *testing.T) {
	for s, want := range map[string]bool{
		"postgres://h/db": true, "postgresql://h/db": true, "tokengate.db": false, "./postgres://x": false,
		"/tmp/postgres": false, "": false, "host=db dbname=tg": false,
	} {
		if IsDSN(s) != want {
			t.Errorf("IsDSN(%q) = %v, want %v", s, !want, want)
		}
	}
}
