#!/usr/bin/env bash
# Times `pull` of a ~107 MB one-layer image of real files (from /usr/lib and
# /usr/share) from a docker-registry on loopback: skiff's, side by side with
# docker's and podman's when they are installed and working here, in one
# run, printing the medians and their ratios to docker's (podman's when
# docker is not running). Each timed pull follows an rmi of the image, so
# every layer is downloaded, verified and unpacked (scripts/bench-push.sh
# times pushes). It installs nothing
# (pass --install to let it apt-get docker-registry, docker.io and podman
# first).
#
#   sudo scripts/bench-registry.sh [-n RUNS] [--install]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
bench_options 10 "docker-registry docker.io podman" "$@"
command -v docker-registry >/dev/null || { echo "docker-registry is not installed (--install installs it)" >&2; exit 1; }

work=$(mktemp -d)
cleanup() {
	if [ -n "${daemon:-}" ]; then kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null || true; fi
	if [ -n "${registry:-}" ]; then kill "$registry" 2>/dev/null && wait "$registry" 2>/dev/null || true; fi
	if [ -n "${have_podman:-}" ]; then podman rmi -f "$image" >/dev/null 2>&1 || true; fi
	if [ -n "${have_docker:-}" ]; then docker rmi -f "$image" >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

start_registry
image=$host/bench/usrlib:v1

start_skiff

# The layer: regular files of /usr/lib and /usr/share, in find's order, up
# to 107 MB.
(
	set +o pipefail # awk stops find early
	find /usr/lib /usr/share -xdev -type f -size -8M -printf '%s %p\n' 2>/dev/null |
		awk '{ total += $1; if (total > 107000000) exit; sub(/^[0-9]+ /, ""); print }' >"$work/files"
)
tar -cf "$work/layer.tar" --no-recursion -T "$work/files" 2>/dev/null
echo "layer: $(du -m "$work/layer.tar" | cut -f1) MB of $(wc -l <"$work/files") files"

# Publish it with skiff's own push (scripts/bench-push.sh times pushes).
skiff import "$work/layer.tar" "$image" >/dev/null
skiff push -q "$image" >/dev/null
skiff rmi "$image" >/dev/null

# median_ms RMI PULL: runs PULL $runs times, each after RMI (and one
# untimed round first), and prints the median wall time of PULL in ms.
median_ms() {
	local rmi=$1 pull=$2 times=() t0 t1
	$rmi >/dev/null 2>&1 || true
	$pull >/dev/null
	for _ in $(seq "$runs"); do
		$rmi >/dev/null 2>&1 || true
		sync
		t0=$(date +%s%N)
		$pull >/dev/null
		t1=$(date +%s%N)
		times+=($(( (t1 - t0) / 1000 )))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}

declare -A result
result[skiff]=$(median_ms "skiff rmi $image" "skiff pull $image")
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
	have_docker=1
	result[docker]=$(median_ms "docker rmi -f $image" "docker pull -q $image")
fi
if command -v podman >/dev/null && podman info >/dev/null 2>&1; then
	have_podman=1
	result[podman]=$(median_ms "podman rmi -f $image" "podman pull -q --tls-verify=false $image")
fi

base=skiff
[ -n "${result[podman]:-}" ] && base=podman
[ -n "${result[docker]:-}" ] && base=docker
printf '%-8s %10s %16s\n' "pull" "median ms" "× $base's time"
for k in skiff docker podman; do
	[ -n "${result[$k]:-}" ] || continue
	printf '%-8s %10s %16s\n' "$k" "${result[$k]}" "$(awk -v a="${result[$k]}" -v b="${result[$base]}" 'BEGIN {printf "%.2f", a/b}')"
done
