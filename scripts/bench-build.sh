#!/usr/bin/env bash
# Times Dockerfile builds with skiff, side by side with docker's legacy
# builder (DOCKER_BUILDKIT=0) and podman when their daemon or binary is
# installed and working here, in one run, on a context like the tutorial's:
# FROM busybox, MAINTAINER, ENV, five RUN steps, ADD of a ~5 MB tar.gz,
# ENTRYPOINT. Three cases: a cold build (--no-cache), a fully cached
# rebuild, and a rebuild after changing the last RUN (that step, the ADD
# and the ENTRYPOINT run again). Prints the medians and skiff's time as a
# fraction of each other engine's. It installs nothing (pass --install to
# let it apt-get docker.io and podman first; dockerd must be running).
#
#   sudo scripts/bench-build.sh [-n RUNS] [--install]
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
bench_options 10 "docker.io podman busybox-static" "$@"

work=$(mktemp -d)
engines=(skiff)
imported=() # the other engines this run imported the base into
cleanup() {
	# Only what this run made: its tags, whose removal deletes the
	# intermediate images under them, and the imported base.
	local e
	for e in "${imported[@]}"; do
		"$e" images --format '{{.Repository}}:{{.Tag}}' | grep -E '(^|/)skiff-bench' | xargs -r "$e" rmi -f >/dev/null 2>&1 || true
	done
	[ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

start_skiff
scripts/busybox-rootfs.sh "$work/busybox.tar" >/dev/null
docker() { DOCKER_BUILDKIT=0 command docker "$@"; }
podman_runtime=()
podman() { command podman "${podman_runtime[@]}" "$@"; }
skiff import "$work/busybox.tar" skiff-bench-busybox >/dev/null

# builds ENGINE: whether ENGINE builds a RUN step here (a daemon answering
# or a binary installed is not enough: its containers must start).
probe=$work/probe
mkdir -p "$probe"
printf 'FROM skiff-bench-busybox\nRUN true\n' >"$probe/Dockerfile"
builds() {
	command -v "$1" >/dev/null && "$1" info >/dev/null 2>&1 &&
		"$1" import "$work/busybox.tar" skiff-bench-busybox >/dev/null 2>&1 &&
		imported+=("$1") && build_flags "$1" && "$1" build "${flags[@]}" --no-cache -t skiff-bench:probe "$probe" >"$work/probe.out" 2>&1
}
# build_flags ENGINE: sets flags to those ENGINE's builds take. podman's
# defaults fail in sandboxes whose RLIMIT_NOFILE hard limit is below the
# 1048576 it sets; its images are made docker's format, MAINTAINER included.
build_flags() {
	flags=()
	[ "$1" = podman ] && flags=(--format docker --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)")
	return 0
}
if builds docker; then
	engines+=(docker)
else
	echo "docker: no working daemon here $(tail -1 "$work/probe.out" 2>/dev/null)" >&2
fi
# crun refuses hosts with cgroup v1 and v2 controllers both (hybrid); runc
# does not.
if builds podman || { podman_runtime=(--runtime runc) && builds podman; }; then
	engines+=(podman)
else
	echo "podman: not working here $(tail -1 "$work/probe.out" 2>/dev/null)" >&2
fi

# The context. The payload is random bytes, so its tar.gz stays ~5 MB and
# ADD has that much to checksum and unpack.
ctx=$work/context
mkdir -p "$ctx/payload"
for i in 1 2 3 4 5; do head -c 1M /dev/urandom >"$ctx/payload/part$i.bin"; done
tar -czf "$ctx/payload.tar.gz" -C "$ctx" payload
rm -r "$ctx/payload"
# dockerfile LAST: writes the Dockerfile, LAST being what the last RUN
# writes (a change there invalidates that step and those after it).
dockerfile() {
	cat >"$ctx/Dockerfile" <<-EOF
		FROM skiff-bench-busybox
		MAINTAINER skiff bench <bench@example.invalid>
		ENV APP_HOME=/opt/app GREETING=hello
		RUN mkdir -p \$APP_HOME/data
		RUN echo "\$GREETING" >\$APP_HOME/greeting
		RUN seq 1 100000 >\$APP_HOME/data/numbers
		RUN sha256sum \$APP_HOME/data/numbers >\$APP_HOME/data/numbers.sha256
		RUN echo "$1" >\$APP_HOME/last
		ADD payload.tar.gz \$APP_HOME/
		ENTRYPOINT ["cat", "/opt/app/greeting"]
	EOF
}
dockerfile 0

# build ENGINE ARGS...: one build of the context, its output discarded
# unless it fails.
build() {
	local e=$1 flags
	shift
	build_flags "$e"
	if ! "$e" build "${flags[@]}" "$@" "$ctx" >"$work/build.out" 2>&1; then
		echo "$e build $* failed:" >&2
		cat "$work/build.out" >&2
		exit 1
	fi
}

# median: the median of the microsecond times on stdin, in milliseconds.
median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'; }

# timed CMD...: runs CMD and prints its wall time in microseconds.
timed() {
	local start end
	start=$(date +%s%N)
	"$@"
	end=$(date +%s%N)
	echo $(((end - start) / 1000))
}

declare -A cold cached changed
for e in "${engines[@]}"; do
	build "$e" -t skiff-bench:warm-up # fills the cache the rebuilds use
	cold[$e]=$(for i in $(seq "$runs"); do timed build "$e" --no-cache -t "skiff-bench:cold-$i"; done | median)
	cached[$e]=$(for _ in $(seq "$runs"); do timed build "$e" -t skiff-bench:cached; done | median)
	changed[$e]=$(for i in $(seq "$runs"); do
		dockerfile "$e-$i-$$" # never seen before: the last RUN cannot come from the cache
		timed build "$e" -t "skiff-bench:changed-$i"
	done | median)
	dockerfile 0
done

printf '%-8s %14s %14s %20s\n' "" "cold ms" "cached ms" "last RUN changed ms"
for e in "${engines[@]}"; do
	printf '%-8s %14s %14s %20s\n' "$e" "${cold[$e]}" "${cached[$e]}" "${changed[$e]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
for e in "${engines[@]}"; do
	[ "$e" = skiff ] && continue
	printf '%-8s %14s %14s %20s\n' "skiff/$e" "$(ratio "${cold[skiff]}" "${cold[$e]}")" \
		"$(ratio "${cached[skiff]}" "${cached[$e]}")" "$(ratio "${changed[skiff]}" "${changed[$e]}")"
done
[ ${#engines[@]} -gt 1 ] || echo "(no working docker daemon or podman here: skiff alone)"
