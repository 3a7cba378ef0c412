#!/usr/bin/env bash
# Writes a small root filesystem tarball built from Debian's busybox-static
# (installed if missing): /bin/busybox, a symlink per applet, /etc/passwd
# and /etc/group. Import it with: skiff import busybox.tar busybox:latest
#
#   scripts/busybox-rootfs.sh [OUTPUT]     (default: busybox.tar)
set -euo pipefail
out=${1:-busybox.tar}

if ! [ -x /bin/busybox ] || ! dpkg -s busybox-static >/dev/null 2>&1; then
	echo "installing busybox-static" >&2
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"/{bin,dev,etc,home,proc,root,sys,tmp,usr/bin,var/log}
chmod 1777 "$dir/tmp"
chmod 700 "$dir/root"
cp /bin/busybox "$dir/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/etc/group"
tar --numeric-owner --owner=0 --group=0 -C "$dir" -cf "$out" .
echo "$out"
