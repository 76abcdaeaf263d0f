#!/usr/bin/env bash
# Load test of the provider's endpoints with wrk (issue 6), beside node
# oidc-provider's under the same load.
#
# It builds internal/cmd/astarget and starts it three times on 127.0.0.1,
# on the SQLite store, on the PostgreSQL one (a PostgreSQL 15 of its own,
# from Debian's postgresql package, fsync off, on loopback TCP) and on the
# in-memory one (each with a history of HISTORY issued tokens), and starts node oidc-provider 9 from
# interop/testdata/oidc-provider (as interop/internal/interoptest does; installed by
# scripts/setup-peers.sh, which this script runs if the peer is missing). From
# each it gets an active opaque token by client_credentials, then loads its
# introspection endpoint (RFC 7662: a form POST with token=…, authenticated
# with client_secret_basic as a resource server) ROUNDS times, the three
# servers in turn, and checks the token is still active afterwards. Then it
# loads each token endpoint (client_credentials) ROUNDS times, in turn too.
#
# It prints requests/s for each (medians of the rounds), the ratios
# ours/oidc-provider for introspection (aim: >= 5) and for the token endpoint
# (aim: >= 2 with SQLite, issue 13), and whether the SQLite introspection
# endpoint reached 10,000 requests/s.
# wrk shares the CPUs with the servers, and on a shared machine so does
# everything else: requests/s move with the load average. The script
# therefore also prints each server's CPU time per request (user + system,
# from /proc, all threads, and its child processes: PostgreSQL's backends
# count for ours-postgres), which other processes barely disturb.
#
# Usage: scripts/bench-provider.sh [-d DURATION] [-t THREADS] [-c CONNECTIONS] [-r ROUNDS] [-w WARMUP] [-n]
#   -w: an unmeasured wrk run of this length on each endpoint first (node's JIT
#       warms up in it); 0 for none
#   -n: skip oidc-provider (ours only)
#   defaults (or from the environment): DURATION=10s THREADS=2 CONNECTIONS=32 ROUNDS=3 WARMUP=3s HISTORY=10000
#
# Needs go, curl, and for oidc-provider node >= 20 with npm; installs wrk
# (and curl) from Debian (apt-get, as root or with sudo) if missing. Loopback
# only; stops everything it started on exit, and the targets stop by
# themselves after a deadline should this script be killed. Not part of CI:
# run it by hand.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-3}
HISTORY=${HISTORY:-10000}
WARMUP=${WARMUP:-3s}
PEER=1
TARGET_RPS=10000
TARGET_RATIO=5
TARGET_TOKEN_RATIO=2

PROG=bench-provider
# shellcheck source=lib/wrk.sh
. "$root/scripts/lib/wrk.sh"

while getopts d:t:c:r:w:nh opt; do
	case $opt in
	n) PEER= ;;
	*) load_flag "$opt" "${OPTARG-}" || usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
check_load_flags
[[ $HISTORY =~ ^[0-9]+$ ]] || die "HISTORY must be a number"

# --- tools -------------------------------------------------------------------
need_load_tools
op_dir=$root/interop/testdata/oidc-provider
if [ -n "$PEER" ] && [ ! -f "$op_dir/node_modules/oidc-provider/package.json" ]; then
	echo "bench-provider: oidc-provider is not installed; running scripts/setup-peers.sh"
	bash "$root/scripts/setup-peers.sh" || die "scripts/setup-peers.sh failed (or run with -n to skip oidc-provider)"
fi

# --- clean-up ----------------------------------------------------------------
start_cleanup

# cpu_ticks PID: user + system CPU time of a process and its descendants
# (all threads), in clock ticks; replaces lib/wrk.sh's, which counts the
# process alone, so that PostgreSQL's backends, children of astarget, count.
cpu_ticks() {
	local t=0 c
	t=$(awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0)
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		t=$((t + $(cpu_ticks "$c")))
	done
	echo "$t"
}

basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }
# post URL AUTH BODY: POST a form; prints the body, fails on a non-200 answer.
post() {
	curl -s -f --max-time 10 -H "Authorization: $2" -H 'Content-Type: application/x-www-form-urlencoded' --data-raw "$3" "$1"
}
# What the load needs from each server, by name.
names=()
declare -A introspect_url introspect_auth introspect_body token_url token_auth token_body pid_of

# The targets' own deadline: every wrk run plus generous slack.
exit_after=$(((6 * ROUNDS + 3) * ($(seconds "$DURATION") + 10) + 6 * $(seconds "$WARMUP") + 180))

# --- ours --------------------------------------------------------------------
echo "bench-provider: building internal/cmd/astarget"
(cd "$root" && go build -o "$tmp/astarget" ./internal/cmd/astarget)
for st in sqlite postgres memory; do
	name=ours-$st
	"$tmp/astarget" -store "$st" -history "$HISTORY" -info "$tmp/$name.json" -exit-after "${exit_after}s" >"$tmp/$name.log" 2>&1 &
	pids+=($!)
	pid_of[$name]=$!
	wait_for "$tmp/$name.json" $! "$name"
	info=$tmp/$name.json
	token_url[$name]=$(json_get token_endpoint "$info")
	token_auth[$name]=$(basic "$(json_get app_id "$info")" "$(json_get app_secret "$info")")
	token_body[$name]="grant_type=client_credentials&scope=$(json_get scope "$info")"
	introspect_url[$name]=$(json_get introspection_endpoint "$info")
	introspect_auth[$name]=$(basic "$(json_get rs_id "$info")" "$(json_get rs_secret "$info")")
	names+=("$name")
done

# --- node oidc-provider ------------------------------------------------------
if [ -n "$PEER" ]; then
	command -v node >/dev/null || die "node is not on PATH (or run with -n to skip oidc-provider)"
	secret() { head -c 32 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9'; }
	api_secret=$(secret)
	rs_secret=$(secret)
	# The clients of interop/testdata/oidc-provider/server.js's "by hand" example.
	clients='[{"client_id":"api","client_secret":"'$api_secret'","scope":"orders:read orders:write",
		"grant_types":["client_credentials"],"response_types":[],"redirect_uris":[]},
		{"client_id":"rs","client_secret":"'$rs_secret'",
		"grant_types":[],"response_types":[],"redirect_uris":[]}]'
	name=oidc-provider
	started=
	for _ in 1 2 3; do # a port found free may be taken before node listens
		port=$(shuf -i 20000-59999 -n 1)
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			continue # in use
		fi
		# Under timeout(1), so that node stops by itself too should this
		# script be killed; timeout passes our SIGTERM on to it.
		(cd "$op_dir" && exec env -u NODE_OPTIONS OP_PORT="$port" OP_CLIENTS="$clients" \
			OP_RESOURCE=urn:tokengate:orders OP_SCOPES='orders:read orders:write' \
			timeout -s TERM "${exit_after}s" node server.js) >"$tmp/$name.log" 2>&1 &
		op_pid=$!
		pids+=($op_pid)
		issuer=http://127.0.0.1:$port
		for _ in $(seq 600); do # up to 60 s: it generates RSA keys first
			kill -0 "$op_pid" 2>/dev/null || break
			if curl -s -f --max-time 2 -o /dev/null "$issuer/.well-known/openid-configuration"; then
				started=1
				break
			fi
			sleep 0.1
		done
		[ -n "$started" ] && break
		kill -TERM "$op_pid" 2>/dev/null || true
		wait "$op_pid" 2>/dev/null || true
		grep -q EADDRINUSE "$tmp/$name.log" || { cat "$tmp/$name.log" >&2; die "oidc-provider did not start"; }
	done
	[ -n "$started" ] || die "oidc-provider did not start (no free port?)"
	# node's own pid (timeout's child), for its CPU time.
	node_pid=$(cat "/proc/$op_pid/task/$op_pid/children" 2>/dev/null || pgrep -P "$op_pid" || true)
	node_pid=${node_pid%% *}
	node_pid=${node_pid//[!0-9]/}
	[ -n "$node_pid" ] && [ -r "/proc/$node_pid/stat" ] || die "cannot find the pid of node under timeout ($op_pid)"
	# The endpoints oidc-provider 9 mounts by default, as interop/internal/interoptest uses them.
	token_url[$name]=$issuer/token
	token_auth[$name]=$(basic api "$api_secret")
	token_body[$name]="grant_type=client_credentials&scope=orders:read"
	introspect_url[$name]=$issuer/token/introspection
	introspect_auth[$name]=$(basic rs "$rs_secret")
	pid_of[$name]=$node_pid
	names+=("$name")
fi

# A POST with a form body and an Authorization header, both from the environment.
cat >"$tmp/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("WRK_AUTH")
EOF
# warm URL AUTH BODY: an unmeasured wrk run of WARMUP seconds.
warm() {
	(cd "$tmp" && WRK_AUTH=$2 WRK_BODY=$3 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" --timeout 5s -s post.lua "$1") >/dev/null 2>&1 ||
		die "wrk failed during the warm-up of $1"
}
# The token endpoints are warmed up before the tokens to introspect are
# issued: oidc-provider's in-memory adapter keeps only the last 1,000 tokens.
if [ "$(seconds "$WARMUP")" -gt 0 ]; then
	echo "warm-up: wrk -d$WARMUP on each token endpoint, not measured"
	for name in "${names[@]}"; do warm "${token_url[$name]}" "${token_auth[$name]}" "${token_body[$name]}"; done
fi

# --- an active token from each ----------------------------------------------
for name in "${names[@]}"; do
	answer=$(post "${token_url[$name]}" "${token_auth[$name]}" "${token_body[$name]}") || die "$name: the token request failed"
	tok=$(echo "$answer" | sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
	[ -n "$tok" ] || die "$name: no access_token in the token response"
	introspect_body[$name]="token=$tok"
done
# check_active NAME: the introspection endpoint says the token is active.
check_active() {
	local answer
	answer=$(post "${introspect_url[$1]}" "${introspect_auth[$1]}" "${introspect_body[$1]}") || die "$1: the introspection request failed"
	echo "$answer" | grep -Eq '"active" *: *true' || die "$1: the token is not active: $answer"
}
for name in "${names[@]}"; do check_active "$name"; done

# --- load --------------------------------------------------------------------
wrk_args=(-t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 5s -s post.lua)
echo "bench-provider: $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg) before"
echo "bench-provider: WRK_AUTH='Basic <client credentials>' WRK_BODY='token=<token>' wrk ${wrk_args[*]} URL   # introspection"
echo "bench-provider: WRK_AUTH='Basic <client credentials>' WRK_BODY='grant_type=client_credentials&scope=orders:read' wrk ${wrk_args[*]} URL   # token"
for name in "${names[@]}"; do
	printf '  %-14s introspection %s   token %s\n' "$name" "${introspect_url[$name]}" "${token_url[$name]}"
done


# run KIND NAME URL AUTH BODY: one wrk run; prints a summary line, appends
# req/s to $tmp/KIND-NAME and the server's CPU time per request (µs) to
# $tmp/KIND-NAME.cpu.
run() {
	local kind=$1 name=$2 rps latency non2xx socket_errors cpu
	WRK_AUTH=$4 WRK_BODY=$5 measure "${pid_of[$name]}" "$3"
	printf '  %-14s %-13s %9.0f req/s   server CPU %6.1f µs/req   latency %s%s%s\n' "$name" "$kind" "$rps" "$cpu" "$latency" \
		"${non2xx:+   NON-2xx: $non2xx}" "${socket_errors:+   socket errors: $socket_errors}"
	[ -z "$non2xx" ] || die "$name: $non2xx $kind responses were not 2xx"
	echo "$rps" >>"$tmp/$kind-$name"
	echo "$cpu" >>"$tmp/$kind-$name.cpu"
}

if [ "$(seconds "$WARMUP")" -gt 0 ]; then
	echo "warm-up: wrk -d$WARMUP on each introspection endpoint, not measured"
	for name in "${names[@]}"; do warm "${introspect_url[$name]}" "${introspect_auth[$name]}" "${introspect_body[$name]}"; done
fi
for r in $(seq "$ROUNDS"); do
	echo "round $r/$ROUNDS"
	for name in "${names[@]}"; do
		run introspection "$name" "${introspect_url[$name]}" "${introspect_auth[$name]}" "${introspect_body[$name]}"
	done
done
for name in "${names[@]}"; do check_active "$name"; done
for r in $(seq "$ROUNDS"); do
	echo "token endpoint, round $r/$ROUNDS"
	for name in "${names[@]}"; do
		run token "$name" "${token_url[$name]}" "${token_auth[$name]}" "${token_body[$name]}"
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- results -----------------------------------------------------------------
best() { sort -g "$1" | tail -1; }
echo
echo "bench-provider: load average $load_after after"
echo "introspection endpoint, $ROUNDS rounds:"
for name in "${names[@]}"; do
	printf '  %-14s median %8.0f req/s   best %8.0f req/s   server CPU %6.1f µs/req\n' "$name" \
		"$(median "$tmp/introspection-$name")" "$(best "$tmp/introspection-$name")" "$(median "$tmp/introspection-$name.cpu")"
done
echo "token endpoint (client_credentials), $ROUNDS rounds:"
for name in "${names[@]}"; do
	printf '  %-14s median %8.0f req/s   best %8.0f req/s   server CPU %6.1f µs/req\n' "$name" \
		"$(median "$tmp/token-$name")" "$(best "$tmp/token-$name")" "$(median "$tmp/token-$name.cpu")"
done
sqlite=$(median "$tmp/introspection-ours-sqlite")
if awk -v v="$sqlite" -v t="$TARGET_RPS" 'BEGIN {exit !(v >= t)}'; then
	echo "SQLite introspection >= $TARGET_RPS req/s: met"
else
	echo "SQLite introspection >= $TARGET_RPS req/s: MISSED"
fi
if [ -n "$PEER" ]; then
	peer=$(median "$tmp/introspection-oidc-provider")
	for st in sqlite postgres memory; do
		printf 'ratio ours (%s) / oidc-provider, introspection: %.1f (medians; aim >= %s); by server CPU per request: %.1f\n' "$st" \
			"$(awk -v a="$(median "$tmp/introspection-ours-$st")" -v b="$peer" 'BEGIN {print a / b}')" "$TARGET_RATIO" \
			"$(awk -v a="$(median "$tmp/introspection-ours-$st.cpu")" -v b="$(median "$tmp/introspection-oidc-provider.cpu")" 'BEGIN {print b / a}')"
	done
	peer=$(median "$tmp/token-oidc-provider")
	for st in sqlite memory; do
		printf 'ratio ours (%s) / oidc-provider, token endpoint: %.1f (medians; aim >= %s with SQLite); by server CPU per request: %.1f\n' "$st" \
			"$(awk -v a="$(median "$tmp/token-ours-$st")" -v b="$peer" 'BEGIN {print a / b}')" "$TARGET_TOKEN_RATIO" \
			"$(awk -v a="$(median "$tmp/token-ours-$st.cpu")" -v b="$(median "$tmp/token-oidc-provider.cpu")" 'BEGIN {print b / a}')"
	done
	if awk -v a="$(median "$tmp/token-ours-sqlite")" -v b="$peer" -v t="$TARGET_TOKEN_RATIO" 'BEGIN {exit !(a >= t * b)}'; then
		echo "SQLite token endpoint >= ${TARGET_TOKEN_RATIO}x oidc-provider: met"
	else
		echo "SQLite token endpoint >= ${TARGET_TOKEN_RATIO}x oidc-provider: MISSED"
	fi
fi
