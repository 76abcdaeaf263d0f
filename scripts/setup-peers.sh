#!/usr/bin/env bash
# Installs the real peers and servers that the tests start on loopback:
#   - node oidc-provider 9.x, pinned by interop/testdata/oidc-provider/package-lock.json (npm ci);
#   - Django OAuth Toolkit 1.7, Debian 12's python3-django-oauth-toolkit (for /usr/bin/python3);
#   - node openid-client 6.x, pinned by interop/testdata/openid-client/package-lock.json (npm ci);
#   - PostgreSQL, Redis and nginx from Debian (started by internal/testserver, never as services);
#   - Chromium from Debian, which the browser tests start headless on a page of their own;
#   - protoc from Debian (protobuf-compiler), with which examples/grpc checks its generated code.
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

# --- Debian packages ------------------------------------------------------
#   python3-django-oauth-toolkit: Django OAuth Toolkit 1.7, an interop peer;
#   postgresql, redis-server, nginx: servers the tests start themselves on
#   loopback (internal/testserver), each in a temporary directory;
#   chromium: the browser the sign-in tests drive (chromedp), headless, with
#   a user-data-dir of their own; it runs no service;
#   protobuf-compiler: protoc, for examples/grpc's TestGeneratedCodeIsCurrent.
# The packages' own services are not started: policy-rc.d refuses them for
# the length of the install, so nothing listens on the machine's ports.
debs=(python3-django-oauth-toolkit postgresql redis-server nginx-light chromium protobuf-compiler)
missing=()
for p in "${debs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	policy=/usr/sbin/policy-rc.d
	saved=$(mktemp)
	had_policy=0
	if [ -e "$policy" ]; then had_policy=1; $sudo cp -p "$policy" "$saved"; fi
	printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
	$sudo chmod 755 "$policy"
	restore_policy() {
		if [ "$had_policy" = 1 ]; then $sudo cp -p "$saved" "$policy"; else $sudo rm -f "$policy"; fi
		rm -f "$saved"
	}
	trap 'restore_policy; rm -f "$log"' EXIT
	run $sudo apt-get update -q
	run $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
	restore_policy
	trap 'rm -f "$log"' EXIT
fi
dot_pkg=python3-django-oauth-toolkit
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

# npm_ci DIR PACKAGE: install the node_modules of DIR from its lockfile,
# unless they were installed from this lockfile and have PACKAGE.
npm_ci() {
	local dir=$1 stamp want
	stamp=$dir/node_modules/.tokengate-lock-sha256
	want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
	if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ ! -f "$dir/node_modules/$2/package.json" ]; then
		(cd "$dir" && run npm ci --no-audit --no-fund --loglevel=error)
		echo "$want" >"$stamp"
	fi
}
npm_ci "$root/interop/testdata/oidc-provider" oidc-provider

# --- node openid-client 6.x (npm, lockfile) -------------------------------
npm_ci "$root/interop/testdata/openid-client" openid-client

# --- Chromium --------------------------------------------------------------
command -v chromium >/dev/null || die "chromium is not on PATH after installing it"
