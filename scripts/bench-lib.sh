# Shared by the bench-*.sh scripts (sourced, not run): their common
# options, skiff's daemon and a loopback registry.
#
#   bench_options DEFAULT_RUNS "PACKAGES" "$@"
#
# parses -n RUNS (sets runs, DEFAULT_RUNS when not given) and --install
# (apt-gets the Debian PACKAGES first; nothing is installed without it),
# and moves to the repository's root. Any other argument is refused with
# the script's usage line.
bench_options() {
	runs=$1
	local packages=$2 install=false
	shift 2
	while [ $# -gt 0 ]; do
		case $1 in
			-n) runs=$2; shift 2 ;;
			--install) install=true; shift ;;
			*) echo "usage: $0 [-n RUNS] [--install]" >&2; exit 2 ;;
		esac
	done
	if $install; then
		# shellcheck disable=SC2086 # a list of package names
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages
	fi
	cd "$(dirname "$0")/.."
}

# start_skiff builds skiff into $work and starts its daemon there, on a data
# root and a socket of its own, and waits for the socket; it sets daemon,
# which the script's cleanup kills. skiff runs the CLI against it.
start_skiff() {
	CGO_ENABLED=0 go build -o "$work/skiff" .
	"$work/skiff" serve --data-root "$work/root" --socket "$work/skiff.sock" --listen "" 2>"$work/daemon.log" &
	daemon=$!
	for _ in $(seq 50); do [ -S "$work/skiff.sock" ] && break; sleep 0.1; done
}
skiff() { "$work/skiff" -H "unix://$work/skiff.sock" "$@"; }

# start_registry starts an empty docker-registry on a free loopback port
# (Docker and Podman allow plain HTTP to 127.0.0.0/8 without
# --insecure-registry), storing under $work, and puts its host:port in
# host; it sets registry, which stop_registry and the script's cleanup
# kill.
start_registry() {
	local port
	while :; do
		port=$(shuf -i 20000-60000 -n 1)
		! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	done
	host=127.0.0.1:$port
	rm -rf "$work/storage"
	cat >"$work/registry.yml" <<-EOF
		version: 0.1
		log: {level: error}
		storage: {filesystem: {rootdirectory: $work/storage}}
		http: {addr: $host}
	EOF
	docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
	registry=$!
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return; sleep 0.05; done
	echo "docker-registry did not start:" >&2
	cat "$work/registry.log" >&2
	exit 1
}
stop_registry() {
	[ -n "$registry" ] && kill "$registry" 2>/dev/null && wait "$registry" 2>/dev/null
	registry=""
}
