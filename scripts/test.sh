#!/usr/bin/env bash
# Installs what skiff's tests need and runs every test. Run it as root on
# Debian with Go: the tests use real namespaces, mounts and overlayfs.
#
# Prerequisites come from Debian's packages only:
#   busybox-static  the root filesystem of every test image
#   a docker CLI    to check that the docker CLI works against skiff; most
#                   machines have one, otherwise Debian's docker.io supplies it
#                   (its daemon is not started).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "scripts/test.sh: the tests need root (namespaces, mounts, overlayfs); run it with sudo" >&2
	exit 1
fi

missing=()
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing test prerequisites: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Install packages without starting their services (docker.io's daemon
	# must not run beside the tests).
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "== go vet"
go vet ./...
echo "== go test"
go test -count=1 -timeout 15m ./...
