#!/usr/bin/env bash
# Load test of "tokengate proxy" (issue 14): what the reverse proxy costs in
# throughput against calling the upstream directly, on a warm verdict cache,
# with a 1 KB response.
#
# Everything is a real process on 127.0.0.1: "tokengate serve" (the
# authorization server, on SQLite), two upstreams that answer 1024 bytes of
# JSON — cmd/tokengate/testdata/upstream.py (Python's http.server, a service
# in another language, as the proxy's tests use it) and nginx (a fast
# upstream: the worst case for the proxy's share) — one "tokengate proxy" in
# front of each (route GET /api/orders orders:read), and nginx's own
# proxy_pass in front of each as the peer: what any proxy hop costs here;
# and nginx with the README's auth_request configuration asking "tokengate
# proxy --auth-only", in front of the Python upstream (its CPU figure is
# tokengate's). One
# request per proxy warms the cache; then wrk loads every URL in turn, ROUNDS
# times, rotating which goes first, with the same Authorization header
# everywhere. The script prints requests/s, the ratios proxied/direct
# (target for tokengate: >= 0.85), the proxy's CPU time per request (from
# /proc, which other processes barely disturb), and checks that every answer
# was 2xx and that the authorization server saw no introspection during the
# load.
#
# Usage: scripts/bench-proxy.sh [-g N] [-d DURATION] [-t THREADS] [-c CONNECTIONS] [-r ROUNDS] [-w WARMUP]
#   -g: run the proxies with GOMAXPROCS=N (default: the Go runtime's choice)
#   -w: an unmeasured wrk run of this length on each URL first; 0 for none
#   defaults (or from the environment): DURATION=10s THREADS=2 CONNECTIONS=32 ROUNDS=3 WARMUP=3s
#
# Needs go, curl, nginx and /usr/bin/python3 (scripts/setup-peers.sh installs
# nginx); installs wrk from Debian (apt-get, as root or with sudo) if it is
# missing. Loopback only; stops everything it started on exit. Not part of
# CI: run it by hand.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-3s}
TARGET_RATIO=0.85

PROG=bench-proxy
# shellcheck source=lib/wrk.sh
. "$root/scripts/lib/wrk.sh"

PROCS=
while getopts g:d:t:c:r:w:h opt; do
	case $opt in
	g) PROCS=$OPTARG ;;
	*) load_flag "$opt" "${OPTARG-}" || usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
check_load_flags
[[ -z $PROCS || $PROCS =~ ^[1-9][0-9]*$ ]] || die "-g wants a positive number"

# --- tools -------------------------------------------------------------------
need_load_tools
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || die "nginx is missing: run scripts/setup-peers.sh"
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 is missing"

start_cleanup

# logged FILE MSG FIELD: wait until a JSON log line with "msg":MSG is in
# FILE, and print its string member FIELD.
logged() {
	local line
	for _ in $(seq 600); do
		line=$(grep -F "\"msg\":\"$2\"" "$1" | head -1 || true)
		if [ -n "$line" ]; then
			sed -n 's/.*"'"$3"'":"\([^"]*\)".*/\1/p' <<<"$line"
			return 0
		fi
		sleep 0.1
	done
	cat "$1" >&2
	die "no \"$2\" in $1 after 60 s"
}

# free_port: a TCP port on 127.0.0.1 that was free a moment ago.
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

echo "bench-proxy: building cmd/tokengate"
(cd "$root" && go build -o "$tmp/tokengate" ./cmd/tokengate)
tg=$tmp/tokengate

# --- the authorization server, its clients and a token -------------------------
"$tg" serve --addr 127.0.0.1:0 --db "$tmp/as.db" --log-format json >"$tmp/serve.log" 2>&1 &
pids+=($!)
issuer=$(logged "$tmp/serve.log" "tokengate serve: listening" issuer)
client() { "$tg" client create --db "$tmp/as.db" --json "$@"; }
api=$(client --name "orders API" --introspect --resource urn:bench:orders)
app=$(client --name app --scopes orders:read --resource urn:bench:orders)
api_id=$(json_get client_id <(echo "$api"))
api_secret=$(json_get client_secret <(echo "$api"))
app_id=$(json_get client_id <(echo "$app"))
app_secret=$(json_get client_secret <(echo "$app"))
token=$(TOKENGATE_CLIENT_ID=$app_id TOKENGATE_CLIENT_SECRET=$app_secret "$tg" token --issuer "$issuer" --scope orders:read)
auth="Authorization: Bearer $token"

# --- the upstreams and nginx -------------------------------------------------------
python_port=$(free_port)
/usr/bin/python3 "$root/cmd/tokengate/testdata/upstream.py" "$python_port" >"$tmp/python.log" 2>&1 &
pids+=($!)
python_pid=$!
static_port=$(free_port)
nginx_python_port=$(free_port)
nginx_static_port=$(free_port)
nginx_auth_port=$(free_port)

# --- the proxies -------------------------------------------------------------
# proxy NAME FLAG...: start tokengate proxy with the route and FLAGs; sets
# NAME_addr and NAME_pid.
proxy() {
	local name=$1
	shift
	env ${PROCS:+GOMAXPROCS=$PROCS} "$tg" proxy --listen 127.0.0.1:0 --log-format json --issuer "$issuer" \
		--route "GET /api/orders orders:read" "$@" >"$tmp/$name.log" 2>&1 &
	pids+=($!)
	printf -v "${name}_pid" %s $!
	printf -v "${name}_addr" %s "$(logged "$tmp/$name.log" "tokengate proxy: listening" addr)"
}
export TOKENGATE_CLIENT_ID=$api_id TOKENGATE_CLIENT_SECRET=$api_secret
proxy tg_python --upstream "http://127.0.0.1:$python_port"
proxy tg_static --upstream "http://127.0.0.1:$static_port"
proxy tg_auth --auth-only --trusted-proxy 127.0.0.1
unset TOKENGATE_CLIENT_ID TOKENGATE_CLIENT_SECRET

body=$(curl -s --retry 50 --retry-connrefused --retry-delay 0 --max-time 10 -H "$auth" "http://127.0.0.1:$python_port/api/orders")
[ "${#body}" -eq 1024 ] || die "upstream.py answered ${#body} bytes, want 1024"
mkdir -p "$tmp/nginx"
# The README's auth_request configuration, in front of the Python upstream.
sed -e "s/server 127.0.0.1:8000;/server $tg_auth_addr;/" -e "s/server 127.0.0.1:3000;/server 127.0.0.1:$python_port;/" \
	-e "s/listen 127.0.0.1:8080;/listen 127.0.0.1:$nginx_auth_port;/" "$root/cmd/tokengate/testdata/nginx-auth-request.conf" >"$tmp/nginx/auth.conf"
cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx/body;
	proxy_temp_path $tmp/nginx/proxy;
	fastcgi_temp_path $tmp/nginx/fastcgi;
	uwsgi_temp_path $tmp/nginx/uwsgi;
	scgi_temp_path $tmp/nginx/scgi;
	keepalive_requests 1000000;
	upstream python { server 127.0.0.1:$python_port; keepalive 64; }
	upstream static { server 127.0.0.1:$static_port; keepalive 64; }
	server {
		listen 127.0.0.1:$static_port;
		location / { default_type application/json; return 200 '$body'; }
	}
	server {
		listen 127.0.0.1:$nginx_python_port;
		location / { proxy_pass http://python; proxy_http_version 1.1; proxy_set_header Connection ""; }
	}
	server {
		listen 127.0.0.1:$nginx_static_port;
		location / { proxy_pass http://static; proxy_http_version 1.1; proxy_set_header Connection ""; }
	}
	include $tmp/nginx/auth.conf;
}
EOF
"$nginx" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx.log" 2>&1 &
pids+=($!)
nginx_pid=$!

declare -A url=(
	[python]="http://127.0.0.1:$python_port/api/orders"
	[tg_python]="http://$tg_python_addr/api/orders"
	[nginx_python]="http://127.0.0.1:$nginx_python_port/api/orders"
	[nginx_auth_python]="http://127.0.0.1:$nginx_auth_port/api/orders"
	[static]="http://127.0.0.1:$static_port/api/orders"
	[tg_static]="http://$tg_static_addr/api/orders"
	[nginx_static]="http://127.0.0.1:$nginx_static_port/api/orders"
)
declare -A cpu_pid=(
	[python]=$python_pid [tg_python]=$tg_python_pid [nginx_python]=$nginx_pid [nginx_auth_python]=$tg_auth_pid
	[static]=$nginx_pid [tg_static]=$tg_static_pid [nginx_static]=$nginx_pid
)
names=(python tg_python nginx_python nginx_auth_python static tg_static nginx_static)

# status URL [HEADER]: the HTTP status and size of one GET.
status() {
	local h=()
	[ $# -lt 2 ] || h=(-H "$2")
	curl -s -o /dev/null --max-time 10 -w '%{http_code} %{size_download}' "${h[@]}" "$1"
}
for n in "${names[@]}"; do
	for _ in $(seq 100); do
		s=$(status "${url[$n]}" "$auth" || true)
		[ "$s" = "200 1024" ] && break
		sleep 0.1
	done
	[ "$s" = "200 1024" ] || die "$n (${url[$n]}) answered $s, want 200 with 1024 bytes"
done
[ "$(status "${url[tg_python]}")" = "401 0" ] || die "the proxy let a request without token through"
[ "$(status "${url[nginx_auth_python]}" | cut -d' ' -f1)" = 401 ] || die "nginx auth_request let a request without token through"
introspections() { grep -c '"path":"/introspect"' "$tmp/serve.log" || true; }
calls_before=$(introspections)

# --- load --------------------------------------------------------------------
wrk_args=(-t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 5s -H "$auth")
echo "bench-proxy: $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg) before"
echo "bench-proxy: wrk ${wrk_args[*]/$token/<token>} URL${PROCS:+; proxies with GOMAXPROCS=$PROCS}"

run() {
	local n=$1 rps latency non2xx socket_errors cpu
	measure "${cpu_pid[$n]}" "${url[$n]}"
	printf '  %-18s %9.0f req/s   CPU of its server %6.1f µs/req   latency %s%s%s\n' "$n" "$rps" "$cpu" "$latency" \
		"${non2xx:+   NON-2xx: $non2xx}" "${socket_errors:+   socket errors: $socket_errors}"
	[ -z "$non2xx" ] || die "$n: $non2xx responses were not 2xx"
	echo "$rps" >>"$tmp/$n"
	echo "$cpu" >>"$tmp/$n.cpu"
}

if [ "$(seconds "$WARMUP")" -gt 0 ]; then
	echo "warm-up: wrk -d$WARMUP on each URL, not measured"
	for n in "${names[@]}"; do
		wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" --timeout 5s -H "$auth" "${url[$n]}" >/dev/null 2>&1 || die "wrk failed during the warm-up"
	done
fi
for r in $(seq "$ROUNDS"); do
	echo "round $r/$ROUNDS"
	# Each upstream's three URLs back to back, in an order that rotates.
	for group in "python tg_python nginx_python nginx_auth_python" "static tg_static nginx_static"; do
		read -r -a g <<<"$group"
		for i in "${!g[@]}"; do run "${g[$(((i + r - 1) % ${#g[@]}))]}"; done
	done
done
calls_after=$(introspections)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- results -----------------------------------------------------------------
ratio() { awk -v a="$(median "$tmp/$1")" -v b="$(median "$tmp/$2")" 'BEGIN {printf "%.3f", a / b}'; }
per_round() { paste "$tmp/$1" "$tmp/$2" | awk '{printf "%s%.3f", (NR > 1 ? " " : ""), $1 / $2}'; }
echo
echo "bench-proxy: load average $load_after after; introspections at the authorization server during the load: $((calls_after - calls_before))" \
	"(the cache keeps a verdict for 2 minutes at most, the revocation bound: one per proxy per 2 minutes is expected)"
for n in "${names[@]}"; do
	printf '%-18s median %9.0f req/s   CPU of its server %6.1f µs/req\n' "$n" "$(median "$tmp/$n")" "$(median "$tmp/$n.cpu")"
done
met=1
for up in python static; do
	r=$(ratio "tg_$up" "$up")
	printf 'upstream %-7s tokengate proxy/direct %s (per round: %s)   nginx proxy_pass/direct %s\n' \
		"$up:" "$r" "$(per_round "tg_$up" "$up")" "$(ratio "nginx_$up" "$up")"
	[ "$up" = static ] || printf '                 nginx auth_request + tokengate --auth-only/direct %s (per round: %s)\n' \
		"$(ratio "nginx_auth_$up" "$up")" "$(per_round "nginx_auth_$up" "$up")"
	[ "$up" = python ] && ! awk -v r="$r" -v t="$TARGET_RATIO" 'BEGIN {exit !(r >= t)}' && met=
done
echo "tokengate proxy CPU per request: $(median "$tmp/tg_python.cpu") µs (Python upstream), $(median "$tmp/tg_static.cpu") µs (nginx upstream);" \
	"tokengate --auth-only behind nginx: $(median "$tmp/nginx_auth_python.cpu") µs"
if [ -n "$met" ]; then
	echo "bench-proxy: target (>= $TARGET_RATIO of direct, Python upstream) met"
else
	echo "bench-proxy: target (>= $TARGET_RATIO of direct, Python upstream) MISSED"
fi
