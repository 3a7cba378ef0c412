package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/engine/runtime"
	"github.com/skiff-dev/skiff/internal/memtrim"
)

// A monitor on standby is started before its container is known: a
// monitor spends about 4 ms starting (the Go runtime and the package
// initialisers of the whole skiff binary) before it can do anything, and a
// daemon that keeps one waiting takes that off the start of its next
// container. Start hands it the container's state directory and its log on
// the sync socket (syncAssign, with monitor.log as SCM_RIGHTS); from there
// on it is a monitor like any other. It waits with nothing open but the
// sync socket, and exits when that closes (the daemon exited or dropped it).

// standbyArg is os.Args[2] of a monitor on standby, followed by
// standbyRoom: its command line is rewritten to "skiff monitor <dir>" once
// it has a container, and the room is what the new one may take.
const standbyArg = "--standby"

// standbyRoom is the size of the placeholder argument that reserves the
// room of the rewritten command line.
const standbyRoom = 512

// proc is a launched monitor process: the daemon's end of its sync socket,
// and a channel closed once it has exited and been reaped.
type proc struct {
	cmd    *exec.Cmd
	conn   *net.UnixConn
	reaped chan struct{}
	// standby: launched on standby, it can go on standby again once its
	// container is done (see recycle).
	standby bool
	// assigned counts the containers it was given.
	assigned int
}

// standbys holds the process's monitor on standby, if KeepStandby enabled
// one.
var standbys struct {
	mu      sync.Mutex
	enabled bool
	next    *proc       // nil while none is ready
	filling bool        // a launch of the next one is under way
	refill  *time.Timer // the launch a start scheduled (scheduleRefill)
	fills   sync.WaitGroup
	// recycling are the released monitors on their way back (recycle),
	// each also counted in filling; back is signalled as each arrives
	// (with mu).
	recycling map[*proc]bool
	back      *sync.Cond
}

// refillDelay is how long after a container's start the next monitor on
// standby is launched at the latest. The launch costs about 10 ms of CPU
// (the Go runtime and the package initialisers of the whole binary, for
// the monitor and for the init it starts ahead): made while a short-lived
// container exits, it competed with the exit's record and the answers its
// clients wait for (run --rm, 0.3 s apart: 17.8 ms, 16.1 without it). So
// the daemon launches it once those are given (RefillStandby), and this
// delay only serves containers that run on.
var refillDelay = 20 * time.Millisecond

// KeepStandby makes Start keep one monitor on standby from its first call
// on, and returns a function that drops it and stops keeping one. A daemon
// calls it once; the monitor on standby costs an idle process of about 4
// MB.
func KeepStandby() (stop func()) {
	standbys.mu.Lock()
	standbys.enabled = true
	standbys.mu.Unlock()
	return func() {
		standbys.mu.Lock()
		p := standbys.next
		standbys.enabled, standbys.next = false, nil
		if standbys.refill != nil {
			standbys.refill.Stop()
			standbys.refill = nil
		}
		for p := range standbys.recycling {
			p.conn.Close() // its wait ends; it exits at the EOF
		}
		standbys.mu.Unlock()
		standbys.fills.Wait() // a launch under way ends its monitor itself
		if p != nil {
			p.conn.Close() // it exits at the EOF
			<-p.reaped
		}
	}
}

// takeStandby returns the monitor on standby, if there is one. The next
// one is launched once its container has started (see refillDelay).
//
// A released monitor on its way back (recycle) is waited for, at most
// recycleWait: it is back within a few milliseconds of its container's
// end, and a monitor launched instead takes about 10 ms longer to start
// its container (its own start, then its init's).
func takeStandby() *proc {
	standbys.mu.Lock()
	defer standbys.mu.Unlock()
	if !standbys.enabled {
		return nil
	}
	if standbys.next == nil && len(standbys.recycling) > 0 {
		wait := time.AfterFunc(recycleWait, func() {
			standbys.mu.Lock()
			defer standbys.mu.Unlock()
			standbys.back.Broadcast()
		})
		defer wait.Stop()
		deadline := time.Now().Add(recycleWait)
		for standbys.next == nil && len(standbys.recycling) > 0 && time.Now().Before(deadline) {
			standbys.back.Wait()
		}
	}
	p := standbys.next
	standbys.next = nil
	return p
}

// recycleWait bounds takeStandby's wait for a released monitor.
const recycleWait = 20 * time.Millisecond

// scheduleRefill has the next monitor on standby launched refillDelay from
// now, unless RefillStandby comes first or a launch is scheduled already.
// Start calls it once its container's process runs (or failed to).
func scheduleRefill() {
	standbys.mu.Lock()
	defer standbys.mu.Unlock()
	if standbys.enabled && standbys.refill == nil {
		standbys.refill = time.AfterFunc(refillDelay, RefillStandby)
	}
}

// RefillStandby has the next monitor on standby launched now, unless there
// is one or one is being launched; a no-op where KeepStandby was not
// called. A daemon calls it once a container's exit is recorded and its
// clients have their answers (see refillDelay).
func RefillStandby() {
	standbys.mu.Lock()
	defer standbys.mu.Unlock()
	if standbys.refill != nil {
		standbys.refill.Stop()
		standbys.refill = nil
	}
	if standbys.enabled && standbys.next == nil && !standbys.filling {
		standbys.filling = true
		standbys.fills.Add(1)
		go fillStandby()
	}
}

// fillStandby launches the next monitor on standby.
func fillStandby() {
	defer standbys.fills.Done()
	p, err := launchProc(nil, standbyArg, strings.Repeat("-", standbyRoom))
	if err == nil {
		p.standby = true
	}
	standbys.mu.Lock()
	defer standbys.mu.Unlock()
	standbys.filling = false
	switch {
	case err != nil:
		// Start launches monitors itself meanwhile; the next Start tries
		// again.
		fmt.Fprintf(os.Stderr, "skiff: start a monitor on standby: %v\n", err)
	case !standbys.enabled || standbys.next != nil:
		p.conn.Close()
	default:
		standbys.next = p
	}
}

// maxContainersPerMonitor is how many containers a monitor process
// serves at most: the memory of one that served many grows a little with
// each (4.4 MB on standby after 2, 5.5 MB after 32), and a monitor is to
// stay under 5 MB.
const maxContainersPerMonitor = 8

// recycleTimeout bounds the wait for a released monitor to be on standby
// again: its sessions finish first (finishTimeout), then it starts the
// next init ahead.
const recycleTimeout = finishTimeout + 5*time.Second

// recycle makes the monitor p, whose container has exited and whose
// Client lets go of it, the next monitor on standby, if the daemon keeps
// one and has none: a monitor costs about 4 ms of CPU to launch (the Go
// runtime and the package initialisers of the whole binary), a seventh of
// the CPU a `run --rm` takes. It reports whether p is being recycled; if
// not, the caller closes p's socket and p exits.
//
// p is released (syncRelease), finishes as it would before it exits, goes
// on standby again and says so (syncStandby); until then it counts as a
// launch under way.
func recycle(p *proc) bool {
	standbys.mu.Lock()
	defer standbys.mu.Unlock()
	if !p.standby || p.assigned >= maxContainersPerMonitor || !standbys.enabled || standbys.next != nil || standbys.filling {
		return false
	}
	if err := writeSync(p.conn, syncMsg{Type: syncRelease}); err != nil {
		return false
	}
	standbys.filling = true
	standbys.fills.Add(1)
	if standbys.recycling == nil {
		standbys.recycling = make(map[*proc]bool)
		standbys.back = sync.NewCond(&standbys.mu)
	}
	standbys.recycling[p] = true
	go awaitRecycled(p)
	return true
}

// awaitRecycled waits for the released monitor p to be on standby again,
// and makes it the next one; or, if it does not come back, lets it go and
// launches another.
func awaitRecycled(p *proc) {
	defer standbys.fills.Done()
	p.conn.SetReadDeadline(time.Now().Add(recycleTimeout))
	msg, err := readSync(p.conn, 512)
	p.conn.SetReadDeadline(time.Time{})
	standbys.mu.Lock()
	standbys.filling = false
	delete(standbys.recycling, p)
	standbys.back.Broadcast()
	enabled := standbys.enabled
	back := err == nil && msg.Type == syncStandby && enabled && standbys.next == nil
	if back {
		standbys.next = p
	}
	standbys.mu.Unlock()
	if !back {
		if enabled && (err != nil || msg.Type != syncStandby) {
			fmt.Fprintf(os.Stderr, "skiff: a released monitor did not go on standby again: %v (%q)\n", err, msg.Type)
		}
		p.conn.Close() // it exits at the EOF
		RefillStandby()
	}
}

// assign hands the container whose state directory is dir to the monitor
// on standby p, with out as its stdout and stderr.
func (p *proc) assign(dir string, out *os.File) error {
	if len(dir) > standbyRoom {
		return fmt.Errorf("state directory %s is too long for a monitor on standby", dir)
	}
	b, err := json.Marshal(syncMsg{Type: syncAssign, Dir: dir})
	if err != nil {
		return err
	}
	p.assigned++
	_, _, err = p.conn.WriteMsgUnix(b, unix.UnixRights(int(out.Fd())), nil)
	return err
}

// runStandby is a monitor on standby, conn its sync socket: it starts its
// container's init ahead, waits for its container, then runs as its
// monitor. The daemon closing the socket first ends it, and the init with
// it. A monitor the daemon releases rather than closes once its container
// has exited goes on standby again (see recycle), and says so.
func runStandby(conn *net.UnixConn) int {
	for recycled := false; ; recycled = true {
		code, recycle := serveNext(conn, recycled)
		if !recycle {
			return code
		}
		if err := backOnStandby(); err != nil {
			fmt.Fprintf(os.Stderr, "skiff monitor: go on standby again: %v\n", err)
			return code
		}
	}
}

// serveNext starts the init of the next container ahead, says the monitor
// is on standby again if it was recycled (the first time, its launch says
// it), waits for its container and runs as its monitor.
func serveNext(conn *net.UnixConn, recycled bool) (code int, recycle bool) {
	ahead, prestartErr := prestartInit()
	defer ahead.discard()
	idleTrim := func() bool { return false }
	if recycled {
		if err := writeSync(conn, syncMsg{Type: syncStandby}); err != nil {
			return 0, false // the daemon is gone
		}
		// What its last container left on the heap goes back if the
		// next one is long in coming (a run --rm ends before any trim).
		idleTrim = time.AfterFunc(standbyTrimDelay, memtrim.All).Stop
	}
	dir, err := awaitAssignment(conn)
	idleTrim()
	if err != nil {
		if !errors.Is(err, errNoAssignment) {
			fmt.Fprintf(os.Stderr, "skiff monitor on standby: %v\n", err)
		}
		return 0, false
	}
	// From here on stderr is the monitor's log.
	if prestartErr != nil {
		fmt.Fprintf(os.Stderr, "skiff monitor on standby: start the init ahead: %v (starting it now)\n", prestartErr)
	}
	if err := nameProcess(dir); err != nil {
		fmt.Fprintf(os.Stderr, "skiff monitor on standby: %v\n", err)
	}
	return run(dir, conn)
}

// standbyTrimDelay is how long a recycled monitor waits on standby before
// it trims its memory.
const standbyTrimDelay = time.Second

// backOnStandby makes a monitor whose container is done look like one
// just launched on standby: its stdout and stderr, the last container's
// log, become /dev/null again; its command line names no container (the
// daemon recognises a container's monitor by it).
func backOnStandby() error {
	null, err := unix.Open(os.DevNull, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(null)
	for _, fd := range []int{1, 2} {
		if err := unix.Dup3(null, fd, 0); err != nil {
			return fmt.Errorf("redirect fd %d to %s: %w", fd, os.DevNull, err)
		}
	}
	if err := rewriteArgs(standbyArg, strings.Repeat("-", standbyRoom)); err != nil {
		return err
	}
	return nil
}

// aheadInit is the init a monitor on standby started for its next
// container, nil if none.
type aheadInit struct{ p *runtime.Prestarted }

// prestartInit starts the init of the monitor's next container ahead of
// it (runtime.Prestart), when its containers are started with
// engine/runtime: theStarter then uses it, or, if the container needs
// another kind of init, discards it and starts one.
func prestartInit() (aheadInit, error) {
	if _, ok := theStarter.(runtimeStarter); !ok {
		return aheadInit{}, nil
	}
	p, err := runtime.Prestart()
	if err != nil {
		return aheadInit{}, err
	}
	theStarter = runtimeStarter{ahead: p}
	return aheadInit{p}, nil
}

// discard ends the init started ahead if no container used it: nothing of
// it outlives the monitor.
func (a aheadInit) discard() {
	if a.p == nil {
		return
	}
	if err := a.p.Discard(); err != nil {
		fmt.Fprintf(os.Stderr, "skiff monitor: %v\n", err)
	}
}

// errNoAssignment: the daemon closed the sync socket of a monitor on
// standby.
var errNoAssignment = errors.New("closed before a container was assigned")

// awaitAssignment reads the syncAssign message from the sync socket conn,
// makes the log it carries the process's stdout and stderr, and returns
// the state directory.
func awaitAssignment(conn *net.UnixConn) (string, error) {
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob) // MSG_CMSG_CLOEXEC
	if n == 0 && (err == nil || errors.Is(err, io.EOF)) {
		return "", errNoAssignment
	}
	if err != nil {
		return "", fmt.Errorf("read the assignment: %w", err)
	}
	logFd, err := receivedFd(oob[:oobn])
	if err != nil {
		return "", err
	}
	defer unix.Close(logFd)
	var m syncMsg
	if err := json.Unmarshal(buf[:n], &m); err != nil || m.Type != syncAssign || m.Dir == "" {
		return "", fmt.Errorf("unexpected assignment %q (%v)", buf[:n], err)
	}
	for _, fd := range []int{1, 2} {
		if err := unix.Dup3(logFd, fd, 0); err != nil {
			return "", fmt.Errorf("redirect fd %d to the monitor's log: %w", fd, err)
		}
	}
	return m.Dir, nil
}

// receivedFd is the one descriptor an SCM_RIGHTS control message carries.
func receivedFd(oob []byte) (int, error) {
	cmsgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil || len(cmsgs) != 1 {
		return -1, fmt.Errorf("assignment without the log's descriptor (%v)", err)
	}
	fds, err := unix.ParseUnixRights(&cmsgs[0])
	if err != nil || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return -1, fmt.Errorf("assignment without the log's descriptor (%v)", err)
	}
	return fds[0], nil
}

// nameProcess rewrites the process's command line, in the room its
// placeholder argument reserved, to the one a monitor launched for dir
// has: "skiff monitor <dir>". The daemon recognises a container's monitor
// by it (a pid may have been reused), and people read it in ps.
func nameProcess(dir string) error {
	if err := rewriteArgs(dir); err != nil {
		return fmt.Errorf("name the monitor of %s: %w", dir, err)
	}
	return nil
}

// rewriteArgs makes the process's command line "skiff monitor args...",
// in the room of the one it was launched with.
func rewriteArgs(args ...string) error {
	start, end, err := argvBounds()
	if err != nil {
		return err
	}
	cmdline := []byte(os.Args[0] + "\x00" + Role + "\x00" + strings.Join(args, "\x00") + "\x00")
	if len(cmdline) > end-start {
		return fmt.Errorf("no room for the command line %q", cmdline)
	}
	// The rest of the area is zeroed: readers of /proc/<pid>/cmdline see
	// trailing empty arguments at most.
	cmdline = append(cmdline, make([]byte, end-start-len(cmdline))...)
	mem, err := os.OpenFile("/proc/self/mem", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer mem.Close()
	if _, err := mem.WriteAt(cmdline, int64(start)); err != nil {
		return fmt.Errorf("rewrite the command line: %w", err)
	}
	return nil
}

// argvBounds returns where the process's argument strings lie in its
// memory: fields 48 and 49 of /proc/self/stat (arg_start, arg_end).
func argvBounds() (start, end int, err error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, 0, err
	}
	// The fields after the command name, which may hold spaces and ")".
	i := strings.LastIndexByte(string(b), ')')
	fields := strings.Fields(string(b[i+1:]))
	const argStart = 48 - 3 // fields[0] is field 3
	if i < 0 || len(fields) <= argStart+1 {
		return 0, 0, errors.New("unexpected /proc/self/stat")
	}
	if start, err = strconv.Atoi(fields[argStart]); err == nil {
		end, err = strconv.Atoi(fields[argStart+1])
	}
	if err != nil {
		return 0, 0, fmt.Errorf("parse /proc/self/stat: %w", err)
	}
	return start, end, nil
}
