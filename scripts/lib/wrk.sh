# Shared plumbing of the wrk load scripts (scripts/loadtest.sh,
# scripts/bench-provider.sh). Source it after setting PROG (the script's name
# for messages); it defines the helpers below and nothing runs on sourcing.

die() {
	echo "$PROG: $*" >&2
	exit 1
}

# usage: print the script's "# Usage:" comment block and exit 2.
usage() {
	sed -n '/^# Usage:/,/^#   defaults/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

# load_flag OPT ARG: set the flag both scripts take (-d -t -c -r -w) from
# a getopts letter; false for any other letter.
load_flag() {
	case $1 in
	d) DURATION=$2 ;;
	t) THREADS=$2 ;;
	c) CONNECTIONS=$2 ;;
	r) ROUNDS=$2 ;;
	w) WARMUP=$2 ;;
	*) return 1 ;;
	esac
}

# check_load_flags: validate DURATION, WARMUP, THREADS, CONNECTIONS, ROUNDS.
check_load_flags() {
	[[ $DURATION =~ ^[0-9]+[smh]?$ ]] || die "duration $DURATION: want e.g. 10s, 1m"
	[[ $WARMUP =~ ^[0-9]+[smh]?$ ]] || die "warm-up $WARMUP: want e.g. 3s, or 0"
	[[ $THREADS =~ ^[1-9][0-9]*$ && $CONNECTIONS =~ ^[1-9][0-9]*$ && $ROUNDS =~ ^[1-9][0-9]*$ ]] ||
		die "threads, connections and rounds must be positive integers"
	[ "$CONNECTIONS" -ge "$THREADS" ] || die "wrk needs at least one connection per thread"
}

# seconds DURATION: wrk's duration in seconds.
seconds() {
	local n=${1%[smh]}
	case $1 in
	*m) echo $((n * 60)) ;;
	*h) echo $((n * 3600)) ;;
	*) echo "$n" ;;
	esac
}

# install_debian PKG...: quietly, as root or with sudo.
install_debian() {
	local sudo= log
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || die "$* missing, and not root nor sudo to apt-get install it"
		sudo=sudo
	fi
	log=$(mktemp)
	if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$log" 2>&1; then
		# A fresh machine may have no package lists yet.
		if ! { $sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"; } >"$log" 2>&1; then
			cat "$log" >&2
			rm -f "$log"
			die "apt-get install $* failed"
		fi
	fi
	rm -f "$log"
}

# need_load_tools: wrk and curl (installed from Debian if missing), and go.
need_load_tools() {
	local missing=()
	command -v wrk >/dev/null || missing+=(wrk)
	command -v curl >/dev/null || missing+=(curl)
	[ ${#missing[@]} -eq 0 ] || install_debian "${missing[@]}"
	command -v go >/dev/null || die "go is not on PATH"
}

# start_cleanup: make $tmp, and on exit stop every pid in the pids array and
# remove $tmp.
start_cleanup() {
	tmp=$(mktemp -d)
	pids=()
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}

# wait_for FILE PID NAME: wait (up to 60 s) until FILE is not empty; if the
# process PID exits first, print $tmp/NAME.log and die.
wait_for() {
	for _ in $(seq 600); do
		[ -s "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || { cat "$tmp/$3.log" >&2; die "$3 exited"; }
		sleep 0.1
	done
	die "$3 did not start within 60 s"
}

# cpu_ticks PID: user + system CPU time of a process (all its threads), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure PID WRK-ARG...: one wrk run, in $tmp (where a -s script is), with
# the array wrk_args and then WRK-ARG...; sets rps, latency, non2xx,
# socket_errors and cpu (the CPU time of process PID per request, in µs).
measure() {
	local pid=$1 out=$tmp/wrk.out n ticks
	shift
	ticks=$(cpu_ticks "$pid")
	(cd "$tmp" && exec wrk "${wrk_args[@]}" "$@") >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
	ticks=$(($(cpu_ticks "$pid") - ticks))
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	n=$(awk '/ requests in / {print $1}' "$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
	socket_errors=$(sed -n 's/^ *Socket errors: *//p' "$out")
	latency=$(awk '$1 == "Latency" {print $2 " avg, " $4 " max"}' "$out")
	[ -n "$rps" ] && [ -n "$n" ] || { cat "$out" >&2; die "no Requests/sec in wrk's output"; }
	cpu=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
}

# median FILE: the median of the numbers in FILE, one per line.
median() { sort -g "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# json_get KEY FILE: a string member of a JSON document (no escapes in the
# values we read).
json_get() {
	sed -n 's/.*"'"$1"'" *: *"\([^"\\]*\)".*/\1/p' "$2" | head -1
}
