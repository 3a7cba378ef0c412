#!/usr/bin/env bash
# Installs what skiff's tests need and runs every test. Run it as root on
# Debian with Go: the tests use real namespaces, mounts and overlayfs.
#
# Prerequisites come from Debian's packages:
#   busybox-static  the root filesystem of every test image
#   docker-registry the registry (distribution 2.8) that pull tests run on
#                   loopback with storage of their own (its service is not
#                   started)
#   a docker CLI    to check that the docker CLI works against skiff; most
#                   machines have one, otherwise Debian's docker.io supplies it
#                   (its daemon is not started).
#   chromium        the browser of the dashboard's end-to-end tests (with
#                   fonts-liberation for its text), driven by playwright-core
# and the dashboard's npm packages from web/package-lock.json (npm ci), with
# the machine's Node.js and npm.
#
# Besides go vet and go test, it rebuilds web/dist from web/src and fails if
# the result differs from the committed web/dist, then runs the dashboard's
# unit tests (Vitest) and its browser tests against a real skiff serve.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "scripts/test.sh: the tests need root (namespaces, mounts, overlayfs); run it with sudo" >&2
	exit 1
fi

missing=()
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
dpkg -s docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
dpkg -s chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg -s fonts-liberation >/dev/null 2>&1 || missing+=(fonts-liberation)
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing test prerequisites: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Install packages without starting their services (docker.io's daemon
	# and docker-registry's must not run beside the tests).
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for tool in node npm; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "scripts/test.sh: the dashboard's tests need Node.js (20.19 or later) and npm on the PATH; $tool is missing" >&2
		exit 1
	fi
done

# npm and git run as the owner of the work tree, so that a developer's
# web/node_modules and web/dist stay theirs (and git trusts the tree); the
# browser tests run as root, since they start a daemon.
owner=$(stat -c %U .)
as_owner() {
	if [ "$owner" = root ]; then
		"$@"
	else
		runuser -u "$owner" -- env HOME="$(getent passwd "$owner" | cut -d: -f6)" "$@"
	fi
}

echo "== web: npm ci, npm run build, compare with the committed web/dist"
(cd web && as_owner npm ci --no-audit --no-fund --loglevel=error && as_owner npm run build --silent)
# A difference fails the run, after the other tests (which use the fresh build).
stale=""
if ! dist=$(as_owner git status --porcelain --untracked-files=all -- web/dist); then
	stale="(git status failed: the check needs a git checkout)"
elif [ -n "$dist" ]; then
	stale=$dist
fi
stale_dist() {
	echo "scripts/test.sh: FAIL: the committed web/dist is not what web/src builds to:" >&2
	echo "$stale" >&2
	echo "Run 'cd web && npm ci && npm run build' and commit web/dist with the sources it was built from." >&2
}
[ -z "$stale" ] || stale_dist

echo "== go vet"
go vet ./...
echo "== go test"
go test -count=1 -timeout 15m ./...

echo "== web: unit tests (Vitest)"
(cd web && as_owner npm test --silent)
echo "== web: browser tests (Chromium, against skiff serve)"
status=0
(cd web && npm run e2e --silent) || status=$?
[ "$owner" = root ] || chown -R "$owner": web/e2e/artifacts 2>/dev/null || true
echo "screenshots and the daemon's log: web/e2e/artifacts/"
if [ -n "$stale" ]; then
	stale_dist
	exit 1
fi
exit $status
