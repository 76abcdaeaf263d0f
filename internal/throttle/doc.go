// Package throttle slows down guessing without letting a guesser lock the
// owner out.
//
// A [Limiter] counts failed attempts to prove a secret — a client secret at
// the token, introspection and revocation endpoints (RFC 6749 §2.3.1,
// §5.2), a password on a sign-in form — per (subject, address) pair and per
// address, where the subject is whose secret was tried (a client id, a user
// name) and the address is where the attempt came from. Each count is a
// budget that refills at a steady rate (the generic cell rate algorithm:
// one time value per key): when a budget is spent, attempts are refused,
// before the secret is looked at, until it has refilled by one.
//
// The keys are chosen so that an attacker cannot shut the owner out:
//
//   - Nothing is counted per subject alone. A subject-wide budget would let
//     anyone who knows a client id (it is not a secret) or a user name
//     refuse its owner everywhere by failing on purpose.
//   - The pair budget bounds how fast one address may guess one subject's
//     secret. An attacker spends only the budgets of its own addresses; the
//     owner, elsewhere, is not affected.
//   - The address budget bounds how fast one address may guess across many
//     subjects. Several honest clients may share an address with an
//     attacker (a NAT, a proxy that was not configured to pass the
//     original address on): a pair that succeeded recently from an address
//     is trusted there, and the address budget does not apply to it. Its
//     own pair budget still does.
//
// A Limiter keeps bounded memory: Config.MaxEntries per table. When a
// table is full, the entries that no longer matter go first (budgets that
// have refilled, trust that has lapsed), then arbitrary ones. Dropping a
// budget only forgives failures; dropping a trusted pair puts it back under
// its address's budget, and only successes fill that table, so a guesser
// cannot flush it. A Limiter reads the time through Config.Now and starts
// no goroutine. A [Rate] is the same budget per key on its own, for quotas.
package throttle
