package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/errdefs"

	"github.com/skiff-dev/skiff/engine/runtime"
	"github.com/skiff-dev/skiff/engine/runtime/cgroup"
)

// How long the monitor waits at its ends.
const (
	// drainTimeout: after a process exits, for its output to reach EOF. A
	// process it left behind (outside a PID namespace) may hold the pipes
	// or the pty open; the monitor then closes its ends.
	drainTimeout = 2 * time.Second
	// flushTimeout: for an attached client to take the output queued for
	// it when the output ends.
	flushTimeout = 5 * time.Second
	// lingerTimeout: for a client to close its end of a finished session.
	lingerTimeout = 5 * time.Second
)

// syncFd is the monitor's end of the socketpair from Start.
const syncFd = 3

// MaybeReexec runs the monitor role and exits when os.Args[1] == Role;
// otherwise it returns at once. main calls it first thing (after
// runtime.MaybeReexec), before flags, logging or goroutines; so does the
// TestMain of a package whose tests start monitors.
func MaybeReexec() {
	if len(os.Args) < 2 || os.Args[1] != Role {
		return
	}
	tuneRuntime() // on standby, before the container: it stops the world
	conn, err := fileConn(syncFd)
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff monitor: no sync socket on fd %d (monitors are started by monitor.Start): %v\n", syncFd, err)
		os.Exit(1)
	}
	if len(os.Args) == 4 && os.Args[2] == standbyArg {
		os.Exit(runStandby(conn))
	}
	if len(os.Args) != 3 {
		fmt.Fprintf(os.Stderr, "usage: %s %s <state-dir>\n", os.Args[0], Role)
		os.Exit(2)
	}
	code, _ := run(os.Args[2], conn)
	os.Exit(code)
}

// monitor is the state of the monitor process. Its lifecycle is run's.
type monitor struct {
	dir string
	log *log.Logger
	cfg Config

	ln     *net.UnixListener
	cgroup cgroupManager // nil without Config.CgroupParent
	logw   logWriter
	out    *hub
	io     *procIO        // the init's stdio
	pumps  sync.WaitGroup // the init's output pumps
	execs  execTable

	mu          sync.Mutex
	init        process            // set once started
	abandoned   bool               // Start gave up before acknowledging
	cancelStart context.CancelFunc // cancels the runtime's start
	startedAt   time.Time

	stdinMu   sync.Mutex // one attached client's stdin write at a time
	stdinOnce sync.Once  // StdinOnce closes the init's stdin once

	v2Joined   chan struct{} // closed once joinV2 is done
	joinNow    chan struct{} // closed to have joinV2 join at once (joinV2Now)
	joinOnce   sync.Once
	initExited chan struct{} // closed once the init has been reaped
	exited     chan struct{} // closed once the init's exit is recorded
	exit       Exit          // set before exited is closed

	released chan struct{} // closed when Start's end of the sync socket closed or released it
	recycle  bool          // released, not closed: set before released is closed

	serving  chan struct{}  // closed when the accept loop returned
	handlers sync.WaitGroup // connection handlers
	connsMu  sync.Mutex
	conns    map[*net.UnixConn]struct{} // open connections, closed at the very end
	closing  bool

	mounts *os.File // the container's mount namespace, held by holdMounts
}

// run is the monitor of the container in dir, syncConn its socket to
// Start: it starts the container, serves its clients until the container
// has exited and Start's Client has let go, and returns the process's exit
// status. recycle tells that the Client let go with syncRelease: the
// monitor may then go on standby again (see runStandby) rather than exit.
func run(dir string, syncConn *net.UnixConn) (code int, recycle bool) {
	m := &monitor{
		dir:        dir,
		log:        log.New(os.Stderr, fmt.Sprintf("monitor[%d] ", os.Getpid()), log.LstdFlags|log.Lmicroseconds|log.LUTC),
		v2Joined:   make(chan struct{}),
		joinNow:    make(chan struct{}),
		initExited: make(chan struct{}),
		exited:     make(chan struct{}),
		released:   make(chan struct{}),
		serving:    make(chan struct{}),
		conns:      make(map[*net.UnixConn]struct{}),
	}
	m.execs.m = make(map[string]*execProc)
	go m.watchStarter(syncConn) // ends when Start's end closes or releases

	if err := m.setup(); err != nil {
		m.log.Printf("start container: %v", err)
		writeSync(syncConn, syncMsg{Type: syncFailed, Error: toWire(err)})
		m.teardown()
		return 1, false
	}
	// The daemon may be gone already; watchStarter then kills the init.
	writeSync(syncConn, syncMsg{Type: syncStarted, Pid: m.init.Pid(), StartedAt: m.startedAt})
	go m.serve() // ends when shutdown closes the listener
	stopTrims := scheduleTrims()
	defer stopTrims() // those still to come, when the monitor goes on standby

	// The main goroutine ran the package initialisers of the whole binary
	// and grew its stack for them: blocked in a system call (the wait),
	// its stack could not shrink; parked on a channel, the next collection
	// shrinks it.
	waited := make(chan struct{})
	go func() { // ends when the init has exited and its end is recorded
		defer close(waited)
		m.waitInit()
	}()
	<-waited
	<-m.released
	m.shutdown()
	return 0, m.recycle
}

// tuneRuntime keeps the monitor small: one P (no per-P caches to fill,
// no parallel GC workers; with two until its first trim, a monitor had 0.4
// MB more resident). Its GC runs early too, but only from its first trim
// on (trimMemory): a collection while the container starts and a short
// one runs would take the monitor's one P from them for about 2 ms.
//
// A goroutine in a long system call keeps that P until the Go runtime's
// sysmon takes it back, which can be milliseconds later; that is why
// joinV2's move, which may wait 10 ms in the kernel, waits for the
// container to have run a while.
func tuneRuntime() {
	goruntime.GOMAXPROCS(1)
}

// fileConn makes a connection of an inherited socket descriptor.
func fileConn(fd uintptr) (*net.UnixConn, error) {
	f := os.NewFile(fd, "monitor-sync")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("fd %d is not a unix socket", fd)
	}
	return uc, nil
}

// watchStarter reads the sync socket until Start's end closes: when
// Start's Client is closed, or its process dies. If that happens before
// Start acknowledged the start, nobody owns the container: it is killed.
// A release after the acknowledgement lets go of the monitor too, but
// leaves the socket open and the monitor free to go on standby again.
func (m *monitor) watchStarter(c *net.UnixConn) {
	defer close(m.released)
	acked := false
	for {
		msg, err := readSync(c, 512)
		if err != nil {
			break
		}
		switch {
		case msg.Type == syncAck:
			acked = true
		case msg.Type == syncRelease && acked:
			m.recycle = true
			return
		}
	}
	c.Close()
	if !acked {
		m.abandon()
	}
}

// abandon stops a start nobody waits for.
func (m *monitor) abandon() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.abandoned = true
	if m.cancelStart != nil {
		m.cancelStart()
	}
	if m.init != nil {
		m.log.Print("the daemon gave up on the start: killing the container")
		m.init.Signal(syscall.SIGKILL)
	}
}

// setup prepares everything and starts the container's init.
//
// A new init takes about 5 ms to reach its main (it is this whole binary):
// the monitor's own preparations (pid file, socket, cgroup, log) are made
// meanwhile, by prepare, and Hooks.Created waits for them before it moves
// the init into the cgroup. A failed preparation fails the start there,
// before the container's process runs.
func (m *monitor) setup() error {
	b, err := os.ReadFile(filepath.Join(m.dir, configFile))
	if err != nil {
		return fmt.Errorf("read monitor config: %w", err)
	}
	if err := json.Unmarshal(b, &m.cfg); err != nil {
		return fmt.Errorf("read monitor config: %w", err)
	}
	m.log.SetPrefix(fmt.Sprintf("monitor[%d] %.12s ", os.Getpid(), m.cfg.ID))
	if err := os.Remove(filepath.Join(m.dir, exitFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove the previous exit record: %w", err)
	}
	if m.io, err = newProcIO(m.cfg.Tty, m.cfg.OpenStdin, m.cfg.ConsoleSize, theStarter.allocatesConsole()); err != nil {
		return err
	}

	prepared := make(chan error, 1)
	go func() { prepared <- m.prepare() }() // bounded: files, a socket, mkdirs
	// ready returns prepare's result once it is done. Every path out of
	// setup calls it: teardown reads what prepare made.
	ready := sync.OnceValue(func() error { return <-prepared })

	spec := m.cfg.Spec
	spec.Process.Terminal = m.cfg.Tty
	if m.cfg.Tty {
		spec.ConsoleSize = consoleSize(m.cfg.ConsoleSize)
	}
	hooks := m.cgroupHooks(ready)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.mu.Lock()
	m.cancelStart = cancel
	abandoned := m.abandoned
	m.mu.Unlock()
	if abandoned {
		ready()
		return context.Canceled
	}
	proc, err := theStarter.start(ctx, &spec, m.io.child, hooks)
	m.io.closeChild()
	if perr := ready(); perr != nil {
		// created failed the start with it (a starter that does not call
		// created leaves a process to end here).
		if err == nil {
			proc.Signal(syscall.SIGKILL)
			proc.Wait()
		}
		return perr
	}
	if err != nil {
		return err // the runtime's class and message, unwrapped
	}
	if err := m.io.takeConsole(proc, m.cfg.ConsoleSize); err != nil {
		proc.Signal(syscall.SIGKILL)
		proc.Wait()
		return err
	}

	m.mu.Lock()
	m.init, m.startedAt, m.cancelStart = proc, time.Now().UTC(), nil
	if m.abandoned {
		proc.Signal(syscall.SIGKILL)
	}
	m.mu.Unlock()
	if err := writePid(m.dir, initPidFile, proc.Pid()); err != nil {
		m.log.Printf("write init pid file: %v", err)
	}
	m.joinV2()
	for _, o := range m.io.outputs {
		m.pumps.Add(1)
		go func() { // ends at the output's EOF, or when drain closes it
			defer m.pumps.Done()
			pump(o, o.stream, m.out.publish)
		}()
	}
	return nil
}

// cgroupHooks are the runtime hooks that put the init in the container's
// cgroup once prepare (which ready waits for) has made it. Where
// cgroup.SelfJoin, the init's thread joins the v1 hierarchies, which hold
// every limit, itself (Hooks.Join): no 5-13 ms wait for the kernel's
// migration lock before the container runs. The v2 directory, which then
// only groups the processes, is joined by joinV2 once the container runs.
// Elsewhere Hooks.Created moves the init, as Start warmed up for.
func (m *monitor) cgroupHooks(ready func() error) runtime.Hooks {
	selfJoin := cgroup.SelfJoin()
	return runtime.Hooks{
		Created: func(pid int) error {
			m.holdMounts(pid)
			if err := ready(); err != nil {
				return err
			}
			if m.cgroup != nil && !selfJoin {
				if err := m.cgroup.Add(pid); err != nil {
					return err
				}
			}
			return attachNetwork(m.cfg.Network, pid)
		},
		Join: func() ([]*os.File, error) {
			if m.cgroup == nil || !selfJoin {
				return nil, nil
			}
			return m.cgroup.TaskFiles()
		},
	}
}

// joinV2 moves the container's processes into its v2 directory where its
// init joined the v1 cgroups itself (see cgroupHooks): there the v2
// directory holds no limit and only groups the processes. It does so once
// the container has run for v2JoinDelay, in the background: a first move
// after a quiet while makes the kernel wait for an RCU grace period (5-13
// ms) holding cgroup_mutex, which made every cgroup creation and removal
// on the host wait too (the next container's start among them), and which
// a short-lived container (a run --rm) need not cost: it is gone by then.
// Every process of the container moves, those its init forked meanwhile
// included. waitInit waits for a join under way before it destroys the
// cgroup; an exec has it done at once (joinV2Now).
func (m *monitor) joinV2() {
	if m.cgroup == nil || !cgroup.SelfJoin() {
		close(m.v2Joined)
		return
	}
	go func() { // bounded by v2JoinDelay, then the kernel's grace period
		defer close(m.v2Joined)
		select {
		case <-time.After(v2JoinDelay):
		case <-m.joinNow:
		case <-m.initExited:
			return
		}
		if err := m.cgroup.JoinV2(); err != nil && !errdefs.IsNotFound(err) {
			m.log.Printf("join the v2 cgroup: %v", err)
		}
	}()
}

// v2JoinDelay is how long a container runs before joinV2 groups its
// processes in v2.
const v2JoinDelay = 100 * time.Millisecond

// joinV2Now has joinV2 group the container's processes in v2 now, if it
// has not yet, and returns once it has: an exec'd process joins the
// container's cgroups, v2 included, and must find its init there.
func (m *monitor) joinV2Now() {
	m.joinOnce.Do(func() { close(m.joinNow) })
	<-m.v2Joined
}

// prepare makes what the monitor needs once the container runs: its pid
// file, its socket, the container's cgroup and log. setup runs it while
// the init starts.
func (m *monitor) prepare() error {
	if err := writePid(m.dir, monitorPidFile, os.Getpid()); err != nil {
		return fmt.Errorf("write monitor pid file: %w", err)
	}
	var err error
	if m.ln, err = listen(m.dir); err != nil {
		return err
	}
	if m.cfg.CgroupParent != "" {
		if m.cgroup, err = newCgroup(m.cfg.CgroupParent, m.cfg.ID, m.cfg.Resources); err != nil {
			return err
		}
	}
	if m.logw, err = newLogWriter(m.cfg.Log); err != nil {
		return fmt.Errorf("open the container's log: %w", err)
	}
	m.out = newHub(m.cfg.Tty, m.logw, m.log.Printf)
	return nil
}

// waitInit waits for the init to exit and records its end: the output is
// drained, the exit record written, the waiters woken, the attach sessions
// ended after their last byte, and the cgroup destroyed.
func (m *monitor) waitInit() {
	code, err := m.init.Wait()
	close(m.initExited)
	exit := Exit{Code: code, FinishedAt: time.Now().UTC()}
	m.execs.killAll() // they die with the container (its PID namespace does that too)
	drain(&m.pumps, m.io.outputs, m.log)

	if err != nil {
		exit.Code, exit.Error = 255, err.Error()
		m.log.Printf("wait for the container: %v", err)
	}
	if m.cgroup != nil {
		oom, err := m.cgroup.OOMKilled()
		if err != nil {
			m.log.Printf("read OOM state: %v", err)
		}
		exit.OOMKilled = oom
	}
	// The cgroup is destroyed meanwhile, and its end is not waited for
	// before waiters are answered: its removal may wait for a joinV2 under
	// way, which may wait 5-13 ms for the kernel's migration lock, and
	// every process of the container is gone already (its PID namespace
	// ended with the init). The monitor exits only once it is done.
	destroyed := make(chan struct{})
	go func() { // ends after Destroy, which is bounded (destroyTimeout)
		defer close(destroyed)
		<-m.v2Joined
		if m.cgroup != nil {
			if err := m.cgroup.Destroy(); err != nil {
				m.log.Printf("destroy cgroup: %v", err)
			}
		}
	}()
	if err := writeExit(m.dir, exit); err != nil {
		m.log.Printf("record exit: %v", err)
	}
	if err := m.logw.Err(); err != nil {
		m.log.Printf("the container's log lost records: %v", err)
	}
	if err := m.logw.Close(); err != nil {
		m.log.Printf("close the container's log: %v", err)
	}
	m.exit = exit
	close(m.exited)
	m.out.close(flushTimeout)
	m.io.close() // unblocks a client's stdin write the container never read
	<-destroyed
}

// drain waits for a finished process's output pumps to reach EOF, and
// closes their files if they do not within drainTimeout.
func drain(pumps *sync.WaitGroup, outputs []outputFile, lg *log.Logger) {
	done := make(chan struct{})
	go func() { // ends when the pumps have: at EOF, or once their files are closed below
		pumps.Wait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-time.After(drainTimeout):
	}
	lg.Printf("output still open %v after the process exited (a process it left holds it): closing", drainTimeout)
	for _, o := range outputs {
		o.Close()
	}
	<-done
}

func (m *monitor) hasExited() bool {
	select {
	case <-m.exited:
		return true
	default:
		return false
	}
}

// errNotRunning is the error of requests that need a running container.
func (m *monitor) errNotRunning() error {
	return errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is not running", m.cfg.ID))
}

// shutdown ends the monitor: no new connections, the sessions finish, and
// the files of a running monitor go.
func (m *monitor) shutdown() {
	m.ln.Close()
	<-m.serving
	os.Remove(filepath.Join(m.dir, socketFile))

	done := make(chan struct{})
	go func() { // ends when every handler has; they are bounded by lingerTimeout
		m.handlers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(flushTimeout + lingerTimeout):
		m.closeConns()
		<-done
	}
	m.closeConns()
	if m.init != nil {
		if err := syncExit(m.dir); err != nil {
			m.log.Printf("record exit: %v", err)
		}
	}
	m.releaseMounts()
	m.teardownFiles()
}

// holdMounts opens the mount namespace of the container's init, pid, and
// keeps it until the monitor ends, when no one waits for the container's
// exit any more. The init's exit would otherwise unmount the container's
// filesystems, and its parent, the monitor, would learn of the exit only
// once that is done: the unmounting waits for an RCU grace period, and the
// rootfs overlay's syncs the filesystem under it, disk flush included
// (about 1.5 ms of a short container's run). It is best effort: without
// the namespace held, exits only take longer.
func (m *monitor) holdMounts(pid int) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	if err != nil {
		m.log.Printf("hold the container's mounts: %v", err)
		return
	}
	m.mounts = f
}

// releaseMounts lets the container's mounts go, if holdMounts held them:
// they are unmounted as the namespace's last reference closes.
func (m *monitor) releaseMounts() {
	if m.mounts != nil {
		m.mounts.Close()
		m.mounts = nil
	}
}

// teardown undoes a setup that failed.
func (m *monitor) teardown() {
	if m.ln != nil {
		m.ln.Close()
		os.Remove(filepath.Join(m.dir, socketFile))
	}
	if m.io != nil {
		m.io.closeChild()
		m.io.close()
	}
	if m.logw != nil {
		m.logw.Close()
	}
	if m.cgroup != nil {
		if err := m.cgroup.Destroy(); err != nil {
			m.log.Printf("destroy cgroup: %v", err)
		}
	}
	m.releaseMounts()
	m.teardownFiles()
}

// teardownFiles removes the pid files: their absence tells a daemon that
// the monitor ended on its own.
func (m *monitor) teardownFiles() {
	os.Remove(filepath.Join(m.dir, initPidFile))
	os.Remove(filepath.Join(m.dir, monitorPidFile))
}
