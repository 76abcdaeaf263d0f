// Package users is the provider's built-in user directory: the people who
// sign in through the built-in pages of package provider/signin, with their
// passwords and their OpenID Connect standard claims (OpenID Connect Core
// 1.0 §5.1). An application that has users of its own does not need it: it
// signs them in itself through the provider's interaction API.
//
// A [Directory] works on a [Store]: [NewMemory] here, or the SQLite store of
// package provider/users/sqlite, which lives in the same database file as
// the provider's own store. Every store passes the suite of package
// provider/users/userstest.
//
// # Users
//
// A user has a subject (the "sub" claim: random, never reused, never
// changed, so that a renamed user stays the same user to every client), a
// unique username to sign in with, a password, and a [Profile] of standard
// claims. [Directory.Claims] serves them by scope (OpenID Connect Core
// §5.4) for the provider's userinfo endpoint and ID tokens.
//
// # Passwords
//
// Passwords are hashed with Argon2id (RFC 9106) and stored in the PHC
// string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash), so that hashes made
// with older parameters still verify, and are re-hashed with the current
// ones at the next sign-in. The default parameters, [DefaultParams], are
// the first recommendation of the OWASP Password Storage Cheat Sheet:
// 19 MiB of memory, 2 passes, 1 lane. RFC 9106 §4 recommends more memory
// (64 MiB or 2 GiB) where a server can afford it; set Config.Params.
//
// Hashing is deliberately slow, so [Directory.Authenticate] bounds what
// sign-in attempts can cost:
//
//   - Failed attempts are counted per (username, client address) and per
//     address, never per username alone (package internal/throttle), so a
//     guesser is slowed down without being able to lock the owner out. A
//     refused attempt is answered before any hashing, with [ErrThrottled].
//   - At most Config.MaxConcurrentHashes hashes run at once (half the
//     CPUs by default), with a short queue behind them; beyond it an
//     attempt fails at once with [ErrBusy]. With one lane per hash, sign-in
//     can never take more than that many CPUs, nor more memory than that
//     many times Params.Memory.
//   - A sign-in as an unknown user hashes the password all the same, against
//     a hash made once with the same parameters, and fails with the same
//     [ErrInvalidCredentials] as a wrong password: the time and the answer
//     tell nothing about whether the user exists. Hashes are compared in
//     constant time.
package users
