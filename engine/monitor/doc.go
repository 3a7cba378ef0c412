// Package monitor runs one container under a supervisor process of its own,
// containerd-shim or conmon in spirit, made of the same skiff binary.
//
// The daemon starts a monitor per running container (Start). The monitor
// starts the container's init through engine/runtime, owns its stdio or
// pty, writes its log, serves attach, exec, resize, signal and wait over a
// unix socket in the container's state directory, records the exit status,
// destroys the cgroup and exits after the container. The daemon holds no
// container process and the monitor holds nothing of the daemon's, so the
// daemon can die and restart without the container noticing; a restarted
// daemon reconnects with Connect (containerd's LoadExistingShims).
//
//	daemon (skiff serve)            monitor (skiff monitor <dir>)          container
//	────────────────────            ─────────────────────────────          ─────────
//	Start: write <dir>/monitor.json
//	fork+exec /proc/self/exe ─────▶ setsid; stdin /dev/null,
//	  fd 3 = sync socketpair          stdout+stderr <dir>/monitor.log
//	                                pipes (or pty)
//	                                runtime.Start ──────────────────────▶ runtime-init role
//	                                  meanwhile: monitor.pid, listen        (its Go runtime starts)
//	                                  monitor.sock, cgroup, log
//	                                  Hooks.Created: join the cgroup        namespaces, rootfs,
//	                                                                        exec the process
//	               ◀── "started" ── init.pid                               (TTY: console mode,
//	                    or "failed" {class, message}, then exit             the pty master comes
//	"ack" ───────────────────────▶ the daemon owns the container           back to the monitor)
//	(fd 3 stays open: the hold)
//	                                output pumps ◀──────────── stdout, stderr (pipes) or pty ──
//	                                  ├▶ the log (json-file), the ring (64 KiB)
//	Client: a connection per ◀─────▶  └▶ attached clients; requests
//	request, on monitor.sock
//	                                waits for the init ◀──────────────── exit ─────────────────
//	                                drain output, exit.json, destroy cgroup,
//	                                wake waiters, end sessions (EOF)
//	Client.Close (or death) ──EOF─▶ then: remove monitor.sock and pid files, exit
//
// # Starting: the sync socket
//
// A daemon that called KeepStandby has a monitor started ahead of its next
// container ("skiff monitor --standby <room>"), the ~4 ms of a Go process's
// start behind it: Start writes monitor.json and hands that monitor <dir>
// and monitor.log on fd 3 (an "assign" packet with the log as SCM_RIGHTS);
// it rewrites its command line to "skiff monitor <dir>" and goes on as
// below. The next one is launched once the container's exit has been
// handled (the daemon calls RefillStandby), or refillDelay after its start
// if it runs on (standby.go). Or it is the same process: a monitor
// launched on standby whose Client is released (Client.Release, once the
// container's exit is recorded) rather than closed gets a "release"
// packet instead of the EOF, finishes as below, and goes on standby again
// ("standby" packet) if the daemon has none; that saves a process start,
// a seventh of the CPU a run --rm takes. A monitor on standby also starts its
// container's init ahead (runtime.Prestart), the same ~4.5 ms of a Go
// start behind it, and starts the container in it when it fits (the
// default namespaces, and no host mount changed since); otherwise, and
// when the daemon drops the standby, the init is killed and reaped.
//
// If a monitor still answers in <dir>, Start refuses (errdefs.ErrConflict)
// unless that monitor's container has exited and it is finishing (its
// Client was closed a moment ago: docker stop, then docker start): then it
// waits for it to exit, so that its end does not remove the new monitor's
// files.
//
// Start writes the Config to <dir>/monitor.json (mode 0600) and re-executes
// /proc/self/exe as "skiff monitor <dir>" in a session of its own (Setsid:
// no signal of the daemon's process group or terminal reaches it; no
// Pdeathsig), with the working directory "/", stdin /dev/null, stdout and
// stderr appended to <dir>/monitor.log (the monitor's own errors and any
// panic), and fd 3 one end of a SOCK_SEQPACKET socketpair. A goroutine of
// Start's process waits for the monitor, so it is reaped if it exits while
// the daemon lives. monitor.json and the pid files are written atomically
// (a temporary file renamed) but not synced: they describe processes, which
// a crash of the machine ends too, and a killed daemon or monitor loses
// nothing of what is in the page cache. exit.json is synced.
//
// Where every limit is on a v1 hierarchy (cgroup.SelfJoin: v1 and hybrid
// hosts), the init's thread joins the container's v1 cgroups itself
// (Hooks.Join), which takes no global lock in the kernel, and the monitor
// moves the running init into its v2 directory afterwards, in the
// background. Elsewhere the monitor moves the init (Hooks.Created) about
// 10 ms after Start began: meanwhile Start keeps the kernel's cgroup
// migration lock warm (cgroup.WarmMigrations), so that the join does not
// wait 5-15 ms for an RCU grace period on a host whose cgroups saw no
// migration for a while. On the socketpair, one JSON object per packet:
//
//	monitor → daemon  {"type":"started","pid":N,"startedAt":T}
//	              or  {"type":"failed","error":{"class":"not found","message":"exec: \"x\": executable file not found in $PATH"}}
//	daemon → monitor  {"type":"ack"}
//
// A failure keeps the runtime's errdefs class and message, so the daemon's
// errdefs.IsNotFound sees a missing command; the monitor then cleans up and
// exits, and Start returns after it was reaped: no monitor is left. If the
// socket closes before the ack (Start's context ended, or the daemon died
// during Start), nobody owns the container: the monitor cancels the start
// or kills the init, and the exit is recorded as usual.
//
// After the ack the socketpair stays open as the hold: while the daemon's
// end is open, the monitor stays after the container exits, answering
// Attach (the replay, then EOF) and Wait, so that a daemon can attach to a
// container that exited before it could. Client.Close, or the daemon's
// death, releases it. A Client from Connect holds nothing: that monitor
// exits as soon as the container has and its sessions are done.
//
// # Requests
//
// Each request is one connection to <dir>/monitor.sock (mode 0600). Its path
// may exceed the 108 bytes of sun_path, so both sides bind and connect to
// /proc/self/fd/<n>/monitor.sock, n being an O_PATH descriptor of the state
// directory. The client sends one line of JSON, the monitor answers one line
// of JSON, {"error":{"class","message"}} on failure; attach and exec then
// carry the session's raw stream on the same connection.
//
//	{"op":"info"}                           {"pid":N,"startedAt":T,"tty":B}, with "exit" once exited
//	{"op":"wait"}                           {"exit":{"code":N,"oomKilled":B,"error":S,"finishedAt":T}}, once exited
//	{"op":"signal","signal":N}              {}            any signal; conflict when not running
//	{"op":"resize","rows":R,"cols":C}       {}            no TTY: nothing to do
//	{"op":"attach","attach":{"Stdin":B,"Stdout":B,"Stderr":B,"Replay":B}}
//	                                        {}, then the stream
//	{"op":"exec","exec":{ExecConfig}}       {"execId":S,"pid":N}, then the stream
//	{"op":"exec-resize","execId":S,"rows":R,"cols":C}   {}
//	{"op":"exec-wait","execId":S}           {"exitCode":N}, once it exited and its output was delivered
//
// # Streams
//
// The monitor writes output (raw with a TTY, Docker's stdcopy frames
// without) and reads stdin. It ends a session by half-closing the
// connection (the client reads io.EOF after the last byte) and closes it
// when the client has closed its end, or lingerTimeout later.
//
// Stdin follows Docker (moby's container/stream/attach.go). Only a
// container with OpenStdin receives an attached client's stdin; otherwise it
// is read and dropped. When a client's stdin ends: with a TTY its session
// ends (a detach; the container keeps its terminal); without one, StdinOnce
// closes the container's stdin, and otherwise stdin stays open for the next
// client. A client without stdin that half-closes (docker run without -i)
// keeps receiving output.
//
// # Output and slow clients
//
// Output pumps copy the pty master (a TTY's output is logged as "stdout") or
// the stdout and stderr pipes to a hub, which hands each chunk, in one
// order, to the json-file log, the ring of recent output (the last 64 KiB,
// whole frames, for Replay) and every attached client. The container never
// waits for a client: each has a queue of at most queueLimit (1 MiB) bytes
// written by its own goroutine, and a client further behind is dropped (its
// connection closed: the stream ends early, with io.EOF or ECONNRESET),
// never the container's output. The log and the ring always get
// everything; only a slow disk slows the container, as with Docker's
// json-file driver.
//
// An exec'd process's output goes to its own session only (not to the log),
// without a queue: a slow exec client slows that process, as with Docker; a
// client gone, or detached, has the rest discarded.
//
// # The end
//
// When the init exits: the exec'd processes are killed (the container's PID
// namespace ends them anyway), the output is drained (at most drainTimeout:
// a process left outside a PID namespace may hold the pipes), the exit is
// recorded in exit.json (temporary file, fsync, rename: ReadExit reads it),
// with OOMKilled from the cgroup, waiters are answered, and sessions end
// after their queued output (at most flushTimeout for a client that does
// not read); the cgroup is destroyed meanwhile, and the monitor exits only
// after it. Once the hold is released,
// the monitor removes monitor.sock, monitor.pid and init.pid and exits.
//
// # When processes die
//
//   - The daemon dies: nothing happens to the container; its output keeps
//     going to the log. The monitor, reparented to PID 1 (or the nearest
//     subreaper), exits after the container, and that process reaps it (a
//     PID 1 that reaps nothing, as this VM's, keeps it as a zombie). A
//     restarted daemon's Client.Wait falls back to ReadExit once the
//     monitor is gone.
//   - The monitor dies (SIGKILL, or SIGTERM: it handles no signal): Connect
//     and ReadExit return errdefs.ErrNotFound, and the container runs on,
//     unsupervised and unreaped by skiff. Its output has no reader any more:
//     the next write to a pipe fails (EPIPE, or SIGPIPE, which kills most
//     programs), a TTY's process gets SIGHUP when the master closes. init.pid
//     (and the cgroup) stay behind, for the daemon to kill the orphan and
//     remove the cgroup, as containerd's cleanupAfterDeadShim does: the
//     simplest honest behaviour, and Docker's (a dying shim kills nothing).
//     monitor.pid without a socket that answers tells a dead monitor from a
//     live one.
//
// # TTY size
//
// A TTY has its Config.ConsoleSize (24x80 when zero) before the process
// starts: the monitor sizes the pty it allocates itself, and passes the
// size to engine/runtime (Spec.ConsoleSize, ExecSpec.ConsoleSize), which
// allocates it in the container's own devpts (console mode, so that the
// process can name its terminal) and sizes it before the exec, although it
// hands over the master only once the process runs.
//
// # Memory
//
// The monitor role uses one P (GOMAXPROCS 1) and, 50 ms after the start,
// once a short-lived container's exit has been handled, a GC percent of
// 25; it then drops what starting cost (trimMemory): the heap's garbage,
// and the pages of the binary's read-only mappings that the package
// initialisers of the whole skiff binary touched. It trims
// those mappings again 2 s after the start, once the daemon's first
// requests are served, and after later garbage collections (at most every
// 10 s), such as the one the Go runtime forces every two minutes, which
// touches another 1.5 MB of them. An idle monitor then has 4.4-5 MB
// resident, 1.4 MB of them pages of the binary shared with the daemon. A
// monitor back on standby after its container (recycle) trims both after
// a second without a container.
//
// # Files
//
// Daemon side: start.go (Start), standby.go (KeepStandby, and the
// standby's side too), client.go (Client, Connect), stream.go
// (Stream, ExecSession), files.go (ReadExit). Monitor side: monitor.go (the
// process's lifecycle), server.go (requests, attach), output.go and ring.go
// (the output's fan-out), exec.go (exec'd processes), stdio.go (pipes and
// ptys), trim.go. Both: protocol.go, errors.go, socket.go, config.go, and
// deps.go, the seam onto engine/runtime, engine/runtime/cgroup and
// engine/logfile.
package monitor
