#!/usr/bin/env bash
# Times `run --rm IMAGE true` with skiff, side by side with docker and podman
# when their daemons are installed and running here, in one run, and prints
# the medians and their ratios to skiff's. It also times `start` of a
# stopped container and `stop -t 0` of a running one, and, when crun is
# installed, `crun run` of a bundle of the same rootfs: the floor a
# container engine's --network none run is compared with. It installs
# nothing (pass --install to let it apt-get docker.io, podman and crun
# first).
#
#   sudo scripts/bench-run.sh [-n RUNS] [--install]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
bench_options 20 "docker.io podman crun busybox-static" "$@"

work=$(mktemp -d)
cleanup() {
	[ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	# The image this run gave the other engines (an untagged one would
	# otherwise stay behind at every run).
	[ -n "${imported_docker:-}" ] && docker rmi -f bb >/dev/null 2>&1
	[ -n "${imported_podman:-}" ] && podman rmi -f bb >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

start_skiff
scripts/busybox-rootfs.sh "$work/busybox.tar" >/dev/null
skiff import "$work/busybox.tar" bb >/dev/null

# median_ms CMD...: runs CMD $runs times (after one warm-up) and prints the
# median wall time in milliseconds; "failed" if a run fails (a failure's
# time says nothing). The clock is bash's EPOCHREALTIME in microseconds,
# not date(1): the fork and exec of a date process between a command's end
# and the reading of the clock would count as the command's time (about a
# millisecond, a seventh of a crun run).
median_ms() {
	"$@" >/dev/null 2>&1 || { echo failed; return; }
	local times=()
	for _ in $(seq "$runs"); do
		local start end
		start=${EPOCHREALTIME/[.,]/}
		"$@" >/dev/null 2>&1 || { echo failed; return; }
		end=${EPOCHREALTIME/[.,]/}
		times+=($((end - start)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}

# start_stop_ms ENGINE: creates a container running sleep, then $runs times
# starts it and stops it with stop -t 0; prints the two medians in
# milliseconds, "START STOP".
start_stop_ms() {
	local engine=$1 id starts=() stops=() t0 t1 t2
	id=$("$engine" create bb sleep 1000)
	if ! { "$engine" start "$id" && "$engine" stop -t 0 "$id"; } >/dev/null 2>&1; then # warm-up
		"$engine" rm -f "$id" >/dev/null 2>&1
		echo "failed failed"
		return
	fi
	for _ in $(seq "$runs"); do
		t0=${EPOCHREALTIME/[.,]/}
		"$engine" start "$id" >/dev/null
		t1=${EPOCHREALTIME/[.,]/}
		"$engine" stop -t 0 "$id" >/dev/null
		t2=${EPOCHREALTIME/[.,]/}
		starts+=($((t1 - t0)))
		stops+=($((t2 - t1)))
	done
	"$engine" rm -f "$id" >/dev/null
	local med='{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
	echo "$(printf '%s\n' "${starts[@]}" | sort -n | awk "$med") $(printf '%s\n' "${stops[@]}" | sort -n | awk "$med")"
}

declare -A result start stop
result[skiff]=$(median_ms skiff run --rm bb true)
result[skiff-none]=$(median_ms skiff run --rm --network none bb true)
read -r start[skiff] stop[skiff] <<<"$(start_stop_ms skiff)"
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
	docker load -q -i <(skiff save bb) >/dev/null 2>&1 || docker import "$work/busybox.tar" bb >/dev/null
	imported_docker=1
	result[docker]=$(median_ms docker run --rm bb true)
	result[docker-none]=$(median_ms docker run --rm --network none bb true)
	read -r start[docker] stop[docker] <<<"$(start_stop_ms docker)"
fi
if command -v podman >/dev/null && podman info >/dev/null 2>&1; then
	podman import -q "$work/busybox.tar" bb >/dev/null
	imported_podman=1
fi
# Timed only where podman can run a container at all (on some machines its
# rlimits or cgroup mode make every run fail, which would time failures).
if [ -n "${imported_podman:-}" ] && ! podman run --rm bb true >"$work/podman.err" 2>&1; then
	echo "podman cannot run containers here: $(tail -1 "$work/podman.err")" >&2
elif [ -n "${imported_podman:-}" ]; then
	result[podman]=$(median_ms podman run --rm bb true)
	result[podman-none]=$(median_ms podman run --rm --network none bb true)
	read -r start[podman] stop[podman] <<<"$(start_stop_ms podman)"
fi
if command -v crun >/dev/null; then
	# A bundle of the same rootfs with crun's default spec (new network
	# namespace, cgroups through cgroupfs). crun refuses hybrid hosts when
	# the v2 hierarchy holds a controller: it runs in a mount namespace
	# where that hierarchy is not mounted.
	mkdir -p "$work/bundle/rootfs"
	tar -xf "$work/busybox.tar" -C "$work/bundle/rootfs"
	(cd "$work/bundle" && crun spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"true"/' config.json)
	n=0
	crun_run() { n=$((n + 1)); crun run -b "$work/bundle" "skiff-bench-$$-$n"; }
	export -f median_ms crun_run
	export runs work n
	result[crun-none]=$(unshare -m --propagation private bash -c '
		if [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; then
			umount /sys/fs/cgroup/unified
		fi
		median_ms crun_run')
fi

# ratio A B: A/B to two places, "-" when A is not a time (a failed run).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a !~ /^[0-9.]+$/) print "-"; else printf "%.2f", a/b }'; }

printf '%-14s %10s %16s\n' "run --rm true" "median ms" "× skiff's time"
for k in skiff skiff-none docker docker-none podman podman-none crun-none; do
	[ -n "${result[$k]:-}" ] || continue
	base=${result[skiff]}
	[[ $k == *-none ]] && base=${result[skiff-none]}
	printf '%-14s %10s %16s\n' "$k" "${result[$k]}" "$(ratio "${result[$k]}" "$base")"
done
# The default bridge's cost: the same run with and without it, per engine.
for k in skiff docker podman; do
	[[ ${result[$k]:-} =~ ^[0-9.]+$ && ${result[$k-none]:-} =~ ^[0-9.]+$ ]] || continue
	printf '%-14s %10s\n' "$k bridge cost" "$(awk -v a="${result[$k]}" -v b="${result[$k-none]}" 'BEGIN {printf "%.1f", a-b}')"
done
[ -n "${result[docker]:-}" ] || echo "(docker: no running daemon here; podman likewise unless shown)"
echo
printf '%-14s %10s %16s %10s %16s\n' "" "start ms" "× skiff's time" "stop -t 0" "× skiff's time"
for k in skiff docker podman; do
	[ -n "${start[$k]:-}" ] || continue
	printf '%-14s %10s %16s %10s %16s\n' "$k" "${start[$k]}" \
		"$(ratio "${start[$k]}" "${start[skiff]}")" "${stop[$k]}" "$(ratio "${stop[$k]}" "${stop[skiff]}")"
done
