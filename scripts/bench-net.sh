#!/usr/bin/env bash
# Figures of the default bridge, in one run, with a daemon in a network
# namespace of its own (its bridge, table and ports are nobody else's):
#   - `run --rm bb true` on the bridge and with --network none (medians),
#     the difference being the bridge's cost;
#   - busybox httpd through a published port on the namespace's 127.0.0.1
#     and straight at the container's address, with ab (busybox httpd
#     closes every connection, which ab copes with), and their ratio.
# It installs nothing unless --install (apache2-utils, busybox-static).
#
#   sudo scripts/bench-net.sh [-n RUNS] [--install]
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
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apache2-utils busybox-static
fi

work=$(mktemp -d)
cleanup() {
	if [ -n "${daemon:-}" ]; then
		skiff rm -f web >/dev/null 2>&1 || true
		kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/skiff" .
scripts/busybox-rootfs.sh "$work/busybox.tar" >/dev/null
# unshare -n: the daemon's namespace, with loopback up; ab runs in it too.
unshare -n sh -c 'ip link set lo up; exec "$0" serve --data-root "$1" --socket "$2" --listen ""' \
	"$work/skiff" "$work/root" "$work/skiff.sock" 2>"$work/daemon.log" &
daemon=$!
for _ in $(seq 50); do [ -S "$work/skiff.sock" ] && break; sleep 0.1; done
skiff() { "$work/skiff" -H "unix://$work/skiff.sock" "$@"; }
innet() { nsenter --net="/proc/$daemon/ns/net" "$@"; }
skiff import "$work/busybox.tar" bb >/dev/null

median_ms() { # command...: the median wall time of $runs runs, in ms
	for _ in $(seq "$runs"); do
		s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N)
		echo $(((e - s) / 1000))
	done | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}
skiff run --rm bb true >/dev/null # warm up
skiff run --rm --network none bb true >/dev/null
bridge=$(median_ms skiff run --rm bb true)
none=$(median_ms skiff run --rm --network none bb true)
echo "run --rm bb true: bridge ${bridge} ms, --network none ${none} ms, the bridge costs $(awk "BEGIN {printf \"%.1f\", $bridge - $none}") ms (medians of $runs)"

skiff run -d --name web -p 127.0.0.1:8080:80 bb sh -c 'mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
ip=$(skiff inspect -f '{{.NetworkSettings.IPAddress}}' web)
for _ in $(seq 50); do innet ab -q -n 1 "http://127.0.0.1:8080/" >/dev/null 2>&1 && break; sleep 0.1; done
rps() { innet ab -q -n 20000 -c 8 "$1" | awk '/Requests per second/ {print $4}'; }
conntrack_drain() { # lingering entries slow the next section (machine notes)
	for _ in $(seq 100); do
		[ "$(innet cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo 0)" -lt 100 ] && return
		sleep 0.5
	done
}
published=$(rps "http://127.0.0.1:8080/")
conntrack_drain
direct=$(rps "http://$ip/")
echo "busybox httpd, ab -n 20000 -c 8: published port ${published} req/s, direct ${direct} req/s, $(awk "BEGIN {printf \"%.0f\", 100 * $published / $direct}")% of direct"
