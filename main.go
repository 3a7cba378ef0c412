// Command skiff is a container engine and its web dashboard in one binary:
// "skiff serve" runs the daemon; every other command is a client of its
// Docker-compatible API.
package main

import (
	"os"

	"github.com/skiff-dev/skiff/server/cli"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	os.Exit(cli.Main(version, newServeCommand()))
}
