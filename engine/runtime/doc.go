// Package runtime runs container processes: skiff's own code on
// golang.org/x/sys, with no runc, crun or containerd binary and no cgo.
//
// Start runs a Spec's process as PID 1 of a new container, isolated as
// Docker isolates it; Exec starts a process in a running container, as
// docker exec does. Both return a Task, a child of the caller.
//
// # Roles
//
// Namespaces, mounts and credentials cannot be set up safely from a
// multi-threaded Go process, so the work is done by the skiff binary
// re-executed in a role (os.Args[1]), which main dispatches to first thing
// through MaybeReexec:
//
//   - "runtime-init" is cloned into new mount, UTS, IPC, PID and (unless the
//     network is the host's or joined) network namespaces. It builds the
//     container and execs its process (init.go lists its steps in order).
//   - "runtime-exec-init" is forked in a running container's namespaces
//     (see Exec for how) and execs a process there.
//
// A role never runs from the host's skiff binary, which a container could
// otherwise overwrite through /proc/<pid>/exe (CVE-2019-5736): see
// sealedExe. The role's main goroutine locks its OS thread for good: every
// per-thread change (network namespace, credentials, capabilities,
// seccomp) is made on the thread that calls execve, the only one that
// survives it.
//
// # File descriptors of a role
//
//	0, 1, 2  the process's stdio (Stdio; /dev/null in place of nil)
//	3        the sync socket (fdSync)
//	4        exec-init only: a pidfd of the container's init (fdContainerPid)
//
// # Sync protocol
//
// Parent and role talk over one SOCK_SEQPACKET socketpair per role: one
// JSON object per datagram, with a "type" field (the spec message's spec
// follows it after a newline). The parent sends spec,
// then resume once Hooks.Created has run (the role's namespaces exist from
// its clone on, so the hooks run while the role sets up); the role answers
// created once it is ready for resume, then exec (then the EOF of
// execve), or error at any point. In console mode a console message
// carrying the pty master comes before exec.
//
//	parent (Start, Exec)                 role (fd 3)
//	────────────────────                 ───────────
//	clone, execve the sealed binary ───▶ starts in its namespaces
//	spec {Spec|ExecSpec, console} ─────▶ decodes it; init: network,
//	Hooks.Created(pid)                   rootfs, pivot_root, masks, hostname
//	(cgroup, networking)
//	resume (+ Hooks.Join's files) ─────▶
//	                              ◀───── created
//	                                     reads resume, joins those cgroups
//	                                     (its thread), user, cwd, rlimits,
//	                                     capabilities, seccomp
//	                              ◀───── console + pty master fd (console mode)
//	                              ◀───── exec
//	                              ◀───── EOF: execve succeeded (fd 3 is
//	                                     close-on-exec)
//	                         or   ◀───── error {class, message}; the role exits
//
// A prestarted init (Prestart, for a monitor on standby) is cloned and
// waits for its spec before its container is known; its spec message then
// carries the process's fds 0, 1 and 2 as well, which replace the
// /dev/null it was born with.
//
// The class of an error (not-found, permission-denied, invalid-argument)
// becomes the errdefs class of Start's error. An EOF without a preceding
// exec means the role died during setup (killed, or out of memory): Start
// reports it with the role's wait status. If the parent dies, the role
// reads EOF while it waits for resume, and exits.
//
// # Filesystem
//
// The rootfs is an overlayfs mounted in the container's mount namespace
// only, so no host mount outlives the container. Every path inside the
// container is resolved against a descriptor of its root (openat2
// RESOLVE_IN_ROOT), and mounts are made on descriptors, never on paths an
// image could redirect with a symlink.
//
// Linux 6.8 or later is needed (fsconfig lowerdir+ for the rootfs; each
// layer path is then limited to 255 bytes).
package runtime
