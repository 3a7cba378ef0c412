// Command skiff is a container engine and its web dashboard in one binary:
// "skiff serve" runs the daemon; every other command is a client of its
// Docker-compatible API.
package main

import (
	"os"

	"github.com/skiff-dev/skiff/engine/monitor"
	"github.com/skiff-dev/skiff/engine/runtime"
	"github.com/skiff-dev/skiff/server/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	// The binary re-executes itself as a container's monitor and as a
	// container's init; those roles are decided before anything else runs.
	runtime.MaybeReexec()
	monitor.MaybeReexec()
	// The daemon keeps a monitor on standby for its next container; other
	// commands start no monitor, so this costs them nothing.
	monitor.KeepStandby()
	os.Exit(cli.Main(version, newServeCommand()))
}
