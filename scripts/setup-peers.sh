#!/usr/bin/env bash
# Installs the real authorization servers that the interop tests
# (go test -tags interop ./...) start on loopback:
#   - node oidc-provider 9.x, pinned by interop/testdata/oidc-provider/package-lock.json (npm ci);
#   - Django OAuth Toolkit 1.7, Debian 12's python3-django-oauth-toolkit (for /usr/bin/python3).
# Idempotent, silent on success, and quick when everything is already there.
# Needs root (or sudo) for apt-get, and node >= 20 with npm on PATH.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

die() {
	echo "setup-peers: $*" >&2
	exit 1
}

# run CMD...: run quietly, and show the output only if it fails.
run() {
	if ! "$@" >"$log" 2>&1; then
		echo "setup-peers: '$*' failed:" >&2
		cat "$log" >&2
		exit 1
	fi
}

sudo=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || die "not root and no sudo: cannot run apt-get"
	sudo=sudo
fi

# --- Django OAuth Toolkit 1.7 (Debian package) ---------------------------
dot_pkg=python3-django-oauth-toolkit
if ! dpkg-query -W -f='${Status}' "$dot_pkg" 2>/dev/null | grep -q 'install ok installed'; then
	run $sudo apt-get update -q
	run $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$dot_pkg"
fi
dot_version=$(dpkg-query -W -f='${Version}' "$dot_pkg")
case "$dot_version" in
1.7.*) ;;
*) die "$dot_pkg is $dot_version; the interop tests expect 1.7 (Debian 12)" ;;
esac
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 is missing"
(cd / && /usr/bin/python3 -c 'import django, oauth2_provider' >"$log" 2>&1) ||
	{ cat "$log" >&2; die "/usr/bin/python3 cannot import django and oauth2_provider"; }

# --- node oidc-provider 9.x (npm, lockfile) -------------------------------
command -v node >/dev/null || die "node is not on PATH (oidc-provider 9 needs node >= 20)"
command -v npm >/dev/null || die "npm is not on PATH"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "node $(node --version) is too old: oidc-provider 9 needs node >= 20"

op_dir=$root/interop/testdata/oidc-provider
stamp=$op_dir/node_modules/.tokengate-lock-sha256
want=$(sha256sum "$op_dir/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ ! -f "$op_dir/node_modules/oidc-provider/package.json" ]; then
	(cd "$op_dir" && run npm ci --no-audit --no-fund --loglevel=error)
	echo "$want" >"$stamp"
fi
