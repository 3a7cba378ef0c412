package runtime

import (
	"fmt"
	"os"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// The roles of the re-executed skiff binary, passed as os.Args[1].
const (
	// roleInit builds a new container in the namespaces it was cloned
	// into and execs its first process (Start).
	roleInit = "runtime-init"
	// roleExecInit is born in a running container's PID, network, UTS,
	// IPC and cgroup namespaces, joins its mount namespace and execs a
	// process there (Exec).
	roleExecInit = "runtime-exec-init"
)

// The file descriptors a role process starts with. They are fixed numbers,
// not announced in environment variables: os.StartProcess places the files
// of ProcAttr.Files at these positions.
const (
	// fdSync is the role's end of the SOCK_SEQPACKET sync socket (see the
	// package documentation for the protocol).
	fdSync = 3
	// fdContainerPid is, for roleExecInit only, a pidfd of the running
	// container's init: its mount namespace is joined through it.
	fdContainerPid = 4
)

// MaybeReexec runs the runtime's role when the binary was re-executed as
// one (os.Args[1] is "runtime-init" or "runtime-exec-init") and never
// returns then; otherwise it returns at once. main calls it first thing,
// before flags, logging or goroutines.
func MaybeReexec() {
	if len(os.Args) < 2 {
		return
	}
	var run func(syncConn) error
	switch os.Args[1] {
	case roleInit:
		run = runInit
	case roleExecInit:
		run = runExecInit
	default:
		return
	}
	// Every namespace, credential and seccomp change below is made by, and
	// only matters for, the thread that finally calls execve: the main
	// goroutine stays on it and never unlocks it.
	goruntime.LockOSThread()
	conn := syncConn{fd: fdSync}
	err := run(conn)
	// run returns only on failure: on success execve replaced the process.
	if serr := conn.sendError(err); serr != nil {
		fmt.Fprintf(os.Stderr, "skiff %s: %v (reporting it to the parent failed: %v)\n", os.Args[1], err, serr)
	}
	os.Exit(1)
}

// roleStarted is the first thing a role does: make sure its sync socket
// closes on execve (that EOF tells the parent the process started), and
// keep other container processes from ptracing it or reading its memory
// and fds while it still holds privileges (CVE-2016-9962).
func roleStarted() error {
	if _, err := unix.FcntlInt(fdSync, unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return fmt.Errorf("sync socket (fd %d): %w", fdSync, err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE): %w", err)
	}
	unix.Umask(0)
	return nil
}
