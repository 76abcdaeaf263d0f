// Package testserver starts the real servers some tests need — PostgreSQL,
// Redis and nginx — on 127.0.0.1, owned by the test binary: each runs in its
// own process group, in a temporary directory, on a free port, and is
// stopped when the tests end, whether they pass or fail (and killed by the
// kernel if the test binary dies first).
//
// A package whose tests use a shared server calls [Main] from its TestMain:
//
//	func TestMain(m *testing.M) { testserver.Main(m) }
//
// and then, in a test, [SharedPostgres], [SharedRedis] (started once for the
// package) or [StartNginx] (one per test). Servers that a test restarts or
// kills on purpose are started with [StartPostgres] or [StartRedis] and
// stopped with t.Cleanup.
//
// The software comes from Debian's packages (postgresql, redis-server,
// nginx), which scripts/setup-peers.sh installs. When it is missing, a test
// fails with [ErrNotInstalled], which says what to install: no test is
// skipped for want of a server.
//
// It is for tests only: the servers trust every loopback connection.
package testserver
