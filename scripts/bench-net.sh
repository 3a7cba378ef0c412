#!/usr/bin/env bash
# Figures of the default bridge, in one run, with a daemon in a network
# namespace of its own (its bridge, table and ports are nobody else's):
#   - `run --rm bb true` on the bridge and with --network none (medians),
#     the difference being the bridge's cost;
#   - busybox httpd through a published port on the namespace's 127.0.0.1
#     and straight at the container's address, with ab (busybox httpd
#     closes every connection, which ab copes with): $rounds rounds of each,
#     interleaved, each after the connections of the one before drained
#     (conntrack entries and TIME_WAIT sockets of a load test linger and
#     slow the next, so whichever went second used to lose: conntrack
#     keeps a TIME_WAIT entry 120 s, hence the default drain of 150 s); the
#     medians and their ratio, and what was left before each section.
# It installs nothing unless --install (apache2-utils, busybox-static).
#
#   sudo scripts/bench-net.sh [-n RUNS] [-r ROUNDS] [-d DRAIN_SECONDS] [--install]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=20
rounds=3
drain=150
install=false
while [ $# -gt 0 ]; do
	case $1 in
		-n) runs=$2; shift 2 ;;
		-r) rounds=$2; shift 2 ;;
		-d) drain=$2; shift 2 ;;
		--install) install=true; shift ;;
		*) echo "usage: $0 [-n RUNS] [-r ROUNDS] [-d DRAIN_SECONDS] [--install]" >&2; exit 2 ;;
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

CGO_ENABLED=0 go build -o "$work/skiff" .
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
cpid=$(skiff inspect -f '{{.State.Pid}}' web)
rps() { innet ab -q -n 10000 -c 8 "$1" | awk '/Requests per second/ {print $4}'; }
# lingering: conntrack entries of the daemon's namespace and TIME_WAIT
# sockets on either side (httpd closes first: most are the container's).
lingering() {
	local ct tw
	ct=$(innet cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo 0)
	tw=$(( $(innet ss -Htan state time-wait | wc -l) + $(nsenter --net="/proc/$cpid/ns/net" ss -Htan state time-wait | wc -l) ))
	echo "$ct $tw"
}
settle() { # waits up to $drain s for the last section's connections to go
	local ct tw
	for _ in $(seq $((drain * 2))); do
		read -r ct tw <<<"$(lingering)"
		[ "$ct" -lt 100 ] && [ "$tw" -lt 100 ] && break
		sleep 0.5
	done
	echo "$ct conntrack entries, $tw in TIME_WAIT" >>"$work/settle.log"
}
median() { sort -n | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)]}'; }
published=() direct=()
for r in $(seq "$rounds"); do
	# Alternate which goes first, so that neither always follows the other.
	for target in $( ((r % 2)) && echo published direct || echo direct published); do
		settle
		case $target in
			published) published+=("$(rps "http://127.0.0.1:8080/")") ;;
			direct) direct+=("$(rps "http://$ip/")") ;;
		esac
	done
done
p=$(printf '%s\n' "${published[@]}" | median)
d=$(printf '%s\n' "${direct[@]}" | median)
echo "busybox httpd, ab -n 10000 -c 8, medians of $rounds interleaved rounds: published port $p req/s (${published[*]}), direct $d req/s (${direct[*]}), $(awk "BEGIN {printf \"%.0f\", 100 * $p / $d}")% of direct"
echo "left before each section (drained for up to ${drain} s): $(paste -sd ';' "$work/settle.log")"
