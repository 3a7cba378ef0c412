package monitor

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/errdefs"

	"github.com/skiff-dev/skiff/engine/runtime"
)

// execStartTimeout bounds the start of an exec'd process (a paused
// container's cgroup would freeze it halfway).
const execStartTimeout = 30 * time.Second

// execTable holds the exec'd processes, by the ID the monitor gave them,
// until the daemon has asked for the exit code (exec-wait) or the monitor
// exits.
type execTable struct {
	mu   sync.Mutex
	next int
	m    map[string]*execProc
}

// execProc is one exec'd process.
type execProc struct {
	proc    process
	console *os.File      // its pty master, nil without a TTY
	done    chan struct{} // closed once it exited and its output was delivered
	code    int           // its exit code, set before done is closed
}

func (t *execTable) add(e *execProc) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next++
	id := strconv.Itoa(t.next)
	t.m[id] = e
	return id
}

func (t *execTable) get(id string) (*execProc, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[id]
	if !ok {
		return nil, errdefs.ErrNotFound.WithMessage("No such exec instance: " + id)
	}
	return e, nil
}

func (t *execTable) remove(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, id)
}

// killAll kills the exec'd processes still running, when the container's
// init has exited.
func (t *execTable) killAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.m {
		select {
		case <-e.done:
		default:
			e.proc.Signal(syscall.SIGKILL)
		}
	}
}

// serveExec starts a process in the container and runs its session on
// conn: the reply line, then its output (raw with a TTY, stdcopy frames
// without) and its stdin. The session is its own: an exec's output goes to
// its client only (not to the log), and a client slow to read slows the
// exec'd process, as in Docker. A client that goes away stops nothing; the
// output is then discarded.
func (m *monitor) serveExec(conn *net.UnixConn, br *bufio.Reader, cfg ExecConfig) {
	if m.hasExited() {
		m.replyErr(conn, m.errNotRunning())
		return
	}
	pio, err := newProcIO(cfg.Tty, cfg.OpenStdin, cfg.ConsoleSize, theStarter.allocatesConsole())
	if err != nil {
		m.replyErr(conn, err)
		return
	}
	spec := &runtime.ExecSpec{Pid: m.init.Pid(), Process: cfg.Process, Security: cfg.Security, Rlimits: m.cfg.Spec.Rlimits}
	spec.Process.Terminal = cfg.Tty
	if cfg.Tty {
		spec.ConsoleSize = consoleSize(cfg.ConsoleSize)
	}
	ctx, cancel := context.WithTimeout(context.Background(), execStartTimeout)
	// An exec'd process is the container's: its limits, its freezer.
	m.joinV2Now()
	joinCgroup := func(pid int) error {
		if m.cgroup == nil {
			return nil
		}
		return m.cgroup.Add(pid)
	}
	proc, err := theStarter.exec(ctx, spec, pio.child, joinCgroup)
	cancel()
	pio.closeChild()
	if err == nil {
		err = pio.takeConsole(proc, cfg.ConsoleSize)
		if err != nil {
			proc.Signal(syscall.SIGKILL)
			proc.Wait()
		}
	}
	if err != nil {
		pio.close()
		m.replyErr(conn, err)
		return
	}
	e := &execProc{proc: proc, console: pio.console, done: make(chan struct{})}
	id := m.execs.add(e)
	m.reply(conn, reply{ExecID: id, Pid: proc.Pid()})

	out := &execOutput{conn: conn, tty: cfg.Tty}
	var pumps sync.WaitGroup
	for _, o := range pio.outputs {
		pumps.Add(1)
		go func() { // ends at the output's EOF, or when drain closes it
			defer pumps.Done()
			pump(o, o.stream, out.write)
		}()
	}
	go func() { // ends once the process exited and its output drained; this handler waits for it
		code, err := proc.Wait()
		conn.SetWriteDeadline(time.Now().Add(flushTimeout)) // a client that stopped reading
		drain(&pumps, pio.outputs, m.log)
		pio.close()
		e.code = code
		if err != nil {
			m.log.Printf("wait for exec %s: %v", id, err)
			e.code = 255
		}
		close(e.done)
		out.end()
	}()

	forward := cfg.OpenStdin && pio.stdin != nil
	err = copyStdin(br, forward, func(p []byte) { pio.stdin.Write(p) })
	if forward && clientEnded(err) {
		if cfg.Tty {
			out.end() // a detach: the process keeps its terminal
		} else {
			pio.stdin.Close() // docker exec -i: the process reads EOF
		}
	}
	<-e.done
}

func (m *monitor) execResize(id string, rows, cols uint16) error {
	e, err := m.execs.get(id)
	if err != nil {
		return err
	}
	select {
	case <-e.done:
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("exec %s is not running", id))
	default:
	}
	if e.console == nil {
		return nil
	}
	return setConsoleSize(e.console, rows, cols)
}

// serveExecWait answers with the exit code once the process has exited
// and its output was delivered, and forgets the process.
func (m *monitor) serveExecWait(conn *net.UnixConn, br *bufio.Reader, id string) {
	e, err := m.execs.get(id)
	if err != nil {
		m.replyErr(conn, err)
		return
	}
	select {
	case <-e.done:
		m.reply(conn, reply{ExitCode: e.code})
		m.execs.remove(id)
	case <-peerGone(br):
	}
}

// execOutput writes an exec's output to its session's connection.
type execOutput struct {
	conn *net.UnixConn
	tty  bool

	mu  sync.Mutex
	off bool // the client is gone, or the session ended: output is discarded
}

func (o *execOutput) write(stream byte, p []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.off {
		return
	}
	var err error
	if o.tty {
		_, err = o.conn.Write(p)
	} else {
		var h [frameHeaderLen]byte
		putFrameHeader(h[:], stream, len(p))
		bufs := net.Buffers{h[:], p}
		_, err = bufs.WriteTo(o.conn)
	}
	if err != nil {
		o.off = true
	}
}

// end ends the session's output: the client reads io.EOF after the last
// byte, and has lingerTimeout to close its end.
func (o *execOutput) end() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.off = true
	o.conn.CloseWrite()
	o.conn.SetReadDeadline(time.Now().Add(lingerTimeout))
}
