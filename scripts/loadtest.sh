#!/usr/bin/env bash
# Load test of the resource-server side (issue 3): what protecting a handler
# with tokengate costs in throughput when the verdict cache is warm.
#
# It builds and starts internal/cmd/rstarget on 127.0.0.1, which
# serves one small JSON handler twice: at /unprotected as it is, and at
# /protected behind middleware/nethttp with a real introspect.Client (default
# cache) pointed at the provider, in process on its own loopback port. One
# request warms the cache; then wrk loads each URL in turn, ROUNDS times,
# alternating which goes first, and the script prints requests/s for both and
# the throughput ratio protected/unprotected (target: >= 0.90). It also
# checks that no response failed and that the authorization server saw no
# introspection during the load (the cache stayed warm).
#
# wrk shares the CPUs with the target, and on a shared machine so does
# everything else: requests/s move with the load average. The script
# therefore also prints the target's CPU time per request (user + system,
# from /proc), which other processes barely disturb, and the ratio it implies.
#
# Usage: scripts/loadtest.sh [-j] [-d DURATION] [-t THREADS] [-c CONNECTIONS] [-r ROUNDS] [-w WARMUP]
#   -j: the token is an RFC 9068 JWT access token checked locally (rstarget -jwt)
#   -w: an unmeasured wrk run of this length on each URL first; 0 for none
#   defaults (or from the environment): DURATION=10s THREADS=2 CONNECTIONS=32 ROUNDS=3 WARMUP=3s
#
# Needs go and curl; installs wrk from Debian (apt-get, as root or with sudo)
# if it is missing. Loopback only; stops everything it started on exit, and
# the target stops by itself after a deadline should this script be killed.
# Not part of CI: run it by hand.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-3s}
TARGET_RATIO=0.90

PROG=loadtest
# shellcheck source=lib/wrk.sh
. "$root/scripts/lib/wrk.sh"

JWT=
while getopts jd:t:c:r:w:h opt; do
	if [ "$opt" = j ]; then
		JWT=-jwt
		continue
	fi
	load_flag "$opt" "${OPTARG-}" || usage
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
check_load_flags

# --- tools -------------------------------------------------------------------
need_load_tools

# --- clean-up ----------------------------------------------------------------
start_cleanup

# --- the target --------------------------------------------------------------
echo "loadtest: building internal/cmd/rstarget"
(cd "$root" && go build -o "$tmp/rstarget" ./internal/cmd/rstarget)

# The target's own deadline: every wrk run plus generous slack.
exit_after=$((2 * ROUNDS * ($(seconds "$DURATION") + 10) + 2 * $(seconds "$WARMUP") + 120))s
"$tmp/rstarget" -info "$tmp/info.json" ${JWT:+"$JWT"} -exit-after "$exit_after" >"$tmp/rstarget.log" 2>&1 &
pids+=($!)
target_pid=$!
wait_for "$tmp/info.json" "$target_pid" rstarget
protected=$(json_get protected "$tmp/info.json")
unprotected=$(json_get unprotected "$tmp/info.json")
stats=$(json_get stats "$tmp/info.json")
token=$(json_get token "$tmp/info.json")
[ -n "$protected" ] && [ -n "$unprotected" ] && [ -n "$stats" ] && [ -n "$token" ] || die "incomplete $tmp/info.json"
auth="Authorization: Bearer $token"

# status URL [HEADER]: the HTTP status of one GET.
status() {
	if [ $# -gt 1 ]; then
		curl -s -o /dev/null --max-time 10 -w '%{http_code}' -H "$2" "$1"
	else
		curl -s -o /dev/null --max-time 10 -w '%{http_code}' "$1"
	fi
}
# One request warms the cache (a real introspection); check the set-up too.
[ "$(status "$protected" "$auth")" = 200 ] || die "the protected handler refused the token"
[ "$(status "$protected")" = 401 ] || die "the protected handler let a request without token through"
[ "$(status "$unprotected")" = 200 ] || die "the unprotected handler failed"
as_calls() { curl -s --max-time 10 "$stats" | sed -n 's/.*"as_introspections":\([0-9]*\).*/\1/p'; }
calls_before=$(as_calls)

# --- load --------------------------------------------------------------------
wrk_args=(-t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 5s)
echo "loadtest: $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg) before"
echo "loadtest: wrk ${wrk_args[*]} -H 'Authorization: Bearer <token>' $protected"
echo "loadtest: wrk ${wrk_args[*]} $unprotected"


# run NAME URL [HEADER]: one wrk run; prints a summary line, appends req/s to
# $tmp/NAME and the target's CPU time per request (µs) to $tmp/NAME.cpu.
run() {
	local name=$1 url=$2 rps latency non2xx socket_errors cpu
	shift 2
	measure "$target_pid" ${1:+-H "$1"} "$url"
	printf '  %-12s %10.0f req/s   target CPU %5.1f µs/req   latency %s%s%s\n' "$name" "$rps" "$cpu" "$latency" \
		"${non2xx:+   NON-2xx: $non2xx}" "${socket_errors:+   socket errors: $socket_errors}"
	[ -z "$non2xx" ] || die "$name: $non2xx responses were not 2xx"
	echo "$rps" >>"$tmp/$name"
	echo "$cpu" >>"$tmp/$name.cpu"
}

if [ "$(seconds "$WARMUP")" -gt 0 ]; then
	echo "warm-up: wrk -d$WARMUP on each URL, not measured"
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" --timeout 5s "$unprotected" >/dev/null 2>&1 || die "wrk failed during the warm-up"
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" --timeout 5s -H "$auth" "$protected" >/dev/null 2>&1 || die "wrk failed during the warm-up"
fi
for r in $(seq "$ROUNDS"); do
	echo "round $r/$ROUNDS"
	if [ $((r % 2)) -eq 1 ]; then
		run unprotected "$unprotected"
		run protected "$protected" "$auth"
	else
		run protected "$protected" "$auth"
		run unprotected "$unprotected"
	fi
done
calls_after=$(as_calls)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- results -----------------------------------------------------------------
best() { sort -g "$1" | tail -1; }
p_med=$(median "$tmp/protected")
u_med=$(median "$tmp/unprotected")
p_cpu=$(median "$tmp/protected.cpu")
u_cpu=$(median "$tmp/unprotected.cpu")
ratios=$(paste "$tmp/protected" "$tmp/unprotected" | awk '{printf "%s%.3f", (NR > 1 ? " " : ""), $1 / $2}')
ratio=$(awk -v p="$p_med" -v u="$u_med" 'BEGIN {printf "%.3f", p / u}')
cpu_ratio=$(awk -v p="$p_cpu" -v u="$u_cpu" 'BEGIN {printf "%.3f", u / p}')
echo
echo "loadtest: load average $load_after after; introspections at the authorization server during the load: $((calls_after - calls_before))"
printf 'unprotected  median %8.0f req/s   best %8.0f req/s   target CPU %5.1f µs/req\n' "$u_med" "$(best "$tmp/unprotected")" "$u_cpu"
printf 'protected    median %8.0f req/s   best %8.0f req/s   target CPU %5.1f µs/req\n' "$p_med" "$(best "$tmp/protected")" "$p_cpu"
echo "ratio protected/unprotected: $ratio (medians; per round: $ratios); target >= $TARGET_RATIO"
echo "the same from the target's CPU time per request (unprotected/protected): $cpu_ratio"
if awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN {exit !(r >= t)}'; then
	echo "loadtest: target met"
else
	echo "loadtest: target MISSED"
fi
