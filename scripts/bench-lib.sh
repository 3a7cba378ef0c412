# Shared by the bench-*.sh scripts (sourced, not run): their common options.
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
