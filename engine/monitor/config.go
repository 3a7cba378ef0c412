package monitor

import (
	"time"

	"github.com/skiff-dev/skiff/engine/logfile"
	"github.com/skiff-dev/skiff/engine/network"
	"github.com/skiff-dev/skiff/engine/runtime"
	"github.com/skiff-dev/skiff/engine/runtime/cgroup"
)

// Role is os.Args[1] of the re-executed skiff binary when it runs as a
// monitor; os.Args[2] is the container's state directory.
const Role = "monitor"

// The monitor's files inside Config.StateDir.
const (
	configFile     = "monitor.json" // the Config, written by Start, read by the monitor
	socketFile     = "monitor.sock" // the request socket (mode 0600)
	monitorPidFile = "monitor.pid"  // the monitor's pid while it runs
	initPidFile    = "init.pid"     // the container init's host pid while the monitor runs
	exitFile       = "exit.json"    // the Exit record, written once when the init exits
	logFile        = "monitor.log"  // the monitor's own errors (stdout and stderr)
)

// Config is everything a monitor needs to run one container. Start writes
// it as JSON into StateDir; it holds plain values only.
type Config struct {
	ID string
	// StateDir is <data-root>/containers/<id>: the socket, the pid files,
	// the exit record and the monitor's own log live here.
	StateDir string
	Spec     runtime.Spec
	Tty      bool
	// OpenStdin keeps the container's stdin open for attached clients
	// (docker -i). Without it the container reads /dev/null (or, with a
	// TTY, a terminal nobody types into) and attached stdin is discarded.
	OpenStdin bool
	// StdinOnce closes the container's stdin when the stdin of the first
	// attached client that sends any ends (docker run -i). It has no effect
	// with a TTY: there, the end of a client's stdin only ends that
	// client's attach session, as in Docker.
	StdinOnce bool
	// ConsoleSize is the TTY's initial size, rows then columns, set before
	// the container starts (no 80x24 flash); zero means 24x80.
	ConsoleSize [2]uint16
	// Log is where the container's output goes, in Docker's json-file
	// format; a TTY's output is logged as "stdout".
	Log logfile.WriterConfig
	// CgroupParent is the cgroup the container's own cgroup goes under, as
	// in "skiff"; "" runs the container without a cgroup of its own.
	CgroupParent string
	Resources    cgroup.Resources
	// Network, when set, plugs the container into a bridge: its veth is
	// created in Hooks.Created, once the init's network namespace exists
	// and before the container's process runs.
	Network *network.Endpoint `json:",omitempty"`
}

// Exit is how a container ended, as the monitor recorded it in exit.json.
type Exit struct {
	// Code is the exit status, or 128+n when signal n killed the process.
	Code      int  `json:"code"`
	OOMKilled bool `json:"oomKilled,omitempty"`
	// Error is a runtime error met after the start (waiting for the
	// process failed), if any.
	Error      string    `json:"error,omitempty"`
	FinishedAt time.Time `json:"finishedAt"`
}

// AttachOptions chooses the streams of an attach session.
type AttachOptions struct {
	// Stdin sends what the client writes to the container's stdin (only
	// if the container was started with OpenStdin).
	Stdin bool
	// Stdout and Stderr choose the output streams the client receives.
	// With a TTY there is a single stream, delivered if either is set.
	Stdout, Stderr bool
	// Replay first sends the recent output the monitor keeps (the last 64
	// KiB, whole frames), then live output, with nothing lost or repeated
	// in between. Use it for terminals that reconnect, and right after
	// Start to see a container's output from its first byte.
	Replay bool
}

// ExecConfig is a process to start in the running container (docker exec).
type ExecConfig struct {
	Process  runtime.Process
	Security runtime.Security
	// Tty gives the process a terminal of its own; OpenStdin connects its
	// stdin to the session (closed when the client's stdin ends).
	Tty, OpenStdin bool
	// ConsoleSize is the terminal's initial size, rows then columns.
	ConsoleSize [2]uint16
}
