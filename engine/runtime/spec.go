package runtime

import "github.com/skiff-dev/skiff/engine/runtime/seccomp"

// Spec is everything a container's init needs to build the container and
// start its process. The monitor fills it in and passes it to the init
// process as JSON; it holds plain values only (paths, IDs, lists), never
// open resources.
type Spec struct {
	// ID is the container's 64-hex ID (used in error messages and mount
	// labels).
	ID string

	// Root is the root filesystem: the overlay of the image's layers under
	// a per-container upper directory. Init mounts it inside the
	// container's own mount namespace, so no host-visible mount outlives
	// the container.
	Root Rootfs

	// Process is what runs as PID 1 of the container.
	Process Process

	Hostname string

	// Network chooses the network namespace: "none" (a new one with only
	// loopback, brought up), "host" (the host's), or a path to a namespace
	// to join (/proc/<pid>/ns/net or a bind-mounted netns file).
	Network string

	// Mounts are bind mounts placed after the standard ones (/proc, /dev,
	// /sys, ...): /etc/hostname, /etc/hosts, /etc/resolv.conf and volumes.
	// Destinations are resolved inside the rootfs, never through a symlink
	// out of it.
	Mounts []Mount

	Security Security

	// Rlimits are set before the process starts; each must not exceed the
	// daemon's own hard limit (which cannot be raised).
	Rlimits []Rlimit

	// ConsoleSize is the size, rows then columns, the process's terminal
	// has from the start when the runtime allocates it (Process.Terminal in
	// console mode, see Stdio), so that a process asking for its size
	// first thing never sees 0x0. Zero leaves the kernel's 0x0.
	ConsoleSize [2]uint16
}

// Rootfs is an overlayfs root.
type Rootfs struct {
	// LowerDirs are the image's layer directories, top first (overlayfs
	// order). Empty for an image with no layers (scratch).
	LowerDirs []string
	UpperDir  string
	WorkDir   string
	// Target is the directory the overlay is mounted on (inside the
	// container's mount namespace only).
	Target string
}

// Process is a process to run in the container.
type Process struct {
	Args []string
	Env  []string
	// Cwd is the working directory inside the container; created if
	// missing, and checked to resolve inside the rootfs.
	Cwd string
	// User is as docker run -u takes it: "", "uid", "uid:gid", "name",
	// "name:group"; names are looked up in the container's /etc/passwd
	// and /etc/group.
	User string
	// Terminal makes stdin/stdout/stderr (a pty slave) the controlling
	// terminal of a new session.
	Terminal bool
}

// Mount is one bind mount.
type Mount struct {
	Source      string // host path
	Destination string // path inside the container
	ReadOnly    bool
}

// Security are the privileges of the container's processes.
type Security struct {
	// Capabilities are kept in the bounding, permitted and effective sets
	// (names like "CAP_CHOWN"); every other capability is dropped from all
	// sets, and the inheritable and ambient sets are empty.
	Capabilities []string
	// NoNewPrivileges sets PR_SET_NO_NEW_PRIVS.
	NoNewPrivileges bool
	// Seccomp applies Docker's default seccomp profile (for the given
	// capabilities) when true; false is "seccomp=unconfined".
	Seccomp bool
	// SeccompProgram is that profile compiled (seccomp.Default of the
	// capabilities), when the caller has it: a daemon compiles it once,
	// rather than every container's init (half a millisecond of CPU
	// each). Without it, the init compiles the profile itself.
	SeccompProgram *seccomp.Program `json:",omitempty"`
	// MaskedPaths are hidden (a /dev/null bind or an empty read-only
	// tmpfs); ReadonlyPaths are remounted read-only.
	MaskedPaths   []string
	ReadonlyPaths []string
	// Privileged gives all capabilities, the host's devices, and a
	// writable /sys, and masks nothing.
	Privileged bool
}

// Rlimit is one resource limit, by name as in RLIMIT_NOFILE.
type Rlimit struct {
	Type string
	Soft uint64
	Hard uint64
}

// DefaultCapabilities is Docker's default set.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// DefaultMaskedPaths and DefaultReadonlyPaths are Docker's.
var (
	DefaultMaskedPaths = []string{
		"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
		"/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware",
	}
	DefaultReadonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// ExecSpec is a process to start in a running container, as docker exec
// does: it enters the container's namespaces (mount included), cgroup and
// security settings.
type ExecSpec struct {
	// Pid is the container's init process, whose namespaces are entered.
	Pid      int
	Process  Process
	Security Security

	// Rlimits are set before the process starts, as for the container's
	// init (the monitor passes the container's); without them the process
	// inherits the caller's limits.
	Rlimits []Rlimit

	// ConsoleSize is as Spec's.
	ConsoleSize [2]uint16
}
