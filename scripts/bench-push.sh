#!/usr/bin/env bash
# Times pushes of a 107 MB one-layer image of realistic content (shared
# libraries and data files of this machine's /usr) to an empty local
# registry (Debian's docker-registry on a fresh loopback port and storage
# for every push), with skiff, side by side with docker and podman when
# their daemon or binary is installed and working here, in one run. Prints
# the medians and skiff's time as a fraction of each other engine's. It
# installs nothing (pass --install to let it apt-get docker.io, podman and
# docker-registry first; dockerd must be running).
#
#   sudo scripts/bench-push.sh [-n RUNS] [--install]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
bench_options 10 "docker.io podman docker-registry" "$@"

work=$(mktemp -d)
engines=(skiff)
imported=() # the other engines this run imported the image into
registry=""
cleanup() {
	local e
	for e in "${imported[@]}"; do
		# The imported image and the tags each push gave it.
		"$e" images --format '{{.Repository}}:{{.Tag}}' | grep -E '(^|/)skiff-bench-push|^127\.0\.0\.1:[0-9]+/bench/push:' | xargs -r "$e" rmi -f >/dev/null 2>&1 || true
	done
	[ -n "$registry" ] && kill "$registry" 2>/dev/null && wait "$registry" 2>/dev/null
	[ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# The layer: the first 107 MB of regular files under /usr/lib's and
# /usr/share's trees, in name order (binaries, libraries, text, images:
# what images hold), as one tar.
find /usr/lib/x86_64-linux-gnu /usr/share -xdev -type f -printf '%s %P\t%h/%f\n' 2>/dev/null | sort -k2 |
	awk -v max=$((107 * 1000 * 1000)) 'total + $1 <= max { total += $1; sub(/^[^\t]*\t/, ""); print }' >"$work/files"
tar -cf "$work/layer.tar" --files-from="$work/files" 2>/dev/null
echo "layer: $(du -m "$work/layer.tar" | cut -f1) MB in $(wc -l <"$work/files") files" >&2

start_skiff
skiff import "$work/layer.tar" skiff-bench-push >/dev/null

# push ENGINE: tags the image for the registry at $host and pushes it.
push() {
	local e=$1 flags=()
	[ "$e" = podman ] && flags=(--tls-verify=false)
	"$e" tag skiff-bench-push "$host/bench/push:v1" >/dev/null
	if ! "$e" push "${flags[@]}" "$host/bench/push:v1" >"$work/push.out" 2>&1; then
		echo "$e push failed:" >&2
		cat "$work/push.out" >&2
		exit 1
	fi
}

# works ENGINE: whether ENGINE answers here and imports the layer.
works() {
	command -v "$1" >/dev/null && "$1" info >/dev/null 2>&1 &&
		"$1" import "$work/layer.tar" skiff-bench-push >/dev/null 2>&1 && imported+=("$1")
}
for e in docker podman; do
	if works "$e"; then engines+=("$e"); else echo "$e: not working here" >&2; fi
done

# median: the median of the microsecond times on stdin, in milliseconds.
median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'; }

# timed_push ENGINE: one push to a new, empty registry; prints its wall
# time in microseconds.
timed_push() {
	local start end
	start_registry
	start=$(date +%s%N)
	push "$1"
	end=$(date +%s%N)
	stop_registry
	echo $(((end - start) / 1000))
}

declare -A took
for e in "${engines[@]}"; do
	took[$e]=$(for _ in $(seq "$runs"); do timed_push "$e"; done | median)
done

printf '%-14s %10s\n' "" "push ms"
for e in "${engines[@]}"; do
	printf '%-14s %10s\n' "$e" "${took[$e]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
for e in "${engines[@]}"; do
	[ "$e" = skiff ] && continue
	printf '%-14s %10s\n' "skiff/$e" "$(ratio "${took[skiff]}" "${took[$e]}")"
done
[ ${#engines[@]} -gt 1 ] || echo "(no working docker daemon or podman here: skiff alone)"
