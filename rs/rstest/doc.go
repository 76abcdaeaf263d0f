// Package rstest provides a static [rs.Introspector] for tests of code
// protected by package rs, answering as an RFC 7662 introspection client
// would. It is NOT suitable outside tests.
package rstest
