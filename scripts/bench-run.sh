#!/usr/bin/env bash
# Times `run --rm IMAGE true` with skiff, side by side with docker and podman
# when their daemons are installed and running here, in one run, and prints
# the medians and their ratios to skiff's. It installs nothing (pass
# --install to let it apt-get docker.io and podman first).
#
#   sudo scripts/bench-run.sh [-n RUNS] [--install]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=20
install=false
while [ $# -gt 0 ]; do
	case $1 in
		-n) runs=$2; shift 2 ;;
		--install) install=true; shift ;;
		*) echo "usage: $0 [-n RUNS] [--install]" >&2; exit 2 ;;
	esac
done
if $install; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io podman busybox-static
fi

work=$(mktemp -d)
cleanup() {
	[ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/skiff" .
scripts/busybox-rootfs.sh "$work/busybox.tar" >/dev/null
"$work/skiff" serve --data-root "$work/root" --socket "$work/skiff.sock" --listen "" 2>"$work/daemon.log" &
daemon=$!
for _ in $(seq 50); do [ -S "$work/skiff.sock" ] && break; sleep 0.1; done
skiff() { "$work/skiff" -H "unix://$work/skiff.sock" "$@"; }
skiff import "$work/busybox.tar" bb >/dev/null

# median_ms CMD...: runs CMD $runs times (after one warm-up) and prints the
# median wall time in milliseconds.
median_ms() {
	"$@" >/dev/null 2>&1
	local times=()
	for _ in $(seq "$runs"); do
		local start end
		start=$(date +%s%N)
		"$@" >/dev/null 2>&1
		end=$(date +%s%N)
		times+=($(( (end - start) / 1000 )))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}

declare -A result
result[skiff]=$(median_ms skiff run --rm bb true)
result[skiff-none]=$(median_ms skiff run --rm --network none bb true)
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
	docker load -q -i <(skiff save bb) >/dev/null 2>&1 || docker import "$work/busybox.tar" bb >/dev/null
	result[docker]=$(median_ms docker run --rm bb true)
	result[docker-none]=$(median_ms docker run --rm --network none bb true)
fi
if command -v podman >/dev/null && podman info >/dev/null 2>&1; then
	podman import "$work/busybox.tar" bb >/dev/null
	result[podman]=$(median_ms podman run --rm bb true)
	result[podman-none]=$(median_ms podman run --rm --network none bb true)
fi

printf '%-14s %10s %16s\n' "run --rm true" "median ms" "× skiff's time"
for k in skiff skiff-none docker docker-none podman podman-none; do
	[ -n "${result[$k]:-}" ] || continue
	base=${result[skiff]}
	[[ $k == *-none ]] && base=${result[skiff-none]}
	printf '%-14s %10s %16s\n' "$k" "${result[$k]}" "$(awk -v a="${result[$k]}" -v b="$base" 'BEGIN {printf "%.2f", a/b}')"
done
[ -n "${result[docker]:-}" ] || echo "(docker: no running daemon here; podman likewise unless shown)"
