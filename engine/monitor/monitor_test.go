package monitor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/skiff-dev/skiff/engine/runtime/cgroup"
	"golang.org/x/sys/unix"
)

func TestRunWithoutTTY(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sh", "-c", "echo hello; echo oops >&2; exit 3")
	c := startMonitor(t, cfg)
	if c.Pid() <= 0 || c.StartedAt().IsZero() {
		t.Fatalf("Pid %d, StartedAt %v", c.Pid(), c.StartedAt())
	}

	// Attached right after Start, with Replay, the session sees the output
	// from its first byte whatever the race with the container.
	s, err := c.Attach(context.Background(), AttachOptions{Stdout: true, Stderr: true, Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.CloseWrite() // as docker run without -i does
	stdout, stderr := demux(t, readAll(t, s, 10*time.Second))
	if stdout != "hello\n" || stderr != "oops\n" {
		t.Errorf("attach: stdout %q, stderr %q", stdout, stderr)
	}

	exit := waitExit(t, c)
	if exit.Code != 3 || exit.OOMKilled || exit.Error != "" || exit.FinishedAt.IsZero() {
		t.Errorf("Wait: %+v", exit)
	}
	if rec, err := ReadExit(cfg.StateDir); err != nil || rec != exit {
		t.Errorf("ReadExit: %+v, %v; Wait said %+v", rec, err, exit)
	}
	if stdout, stderr := logRecords(t, cfg.Log.Path); stdout != "hello\n" || stderr != "oops\n" {
		t.Errorf("log: stdout %q, stderr %q", stdout, stderr)
	}

	// Start's Client holds the exited container's monitor: a late attach
	// still gets the output kept, then EOF; stdout only, as asked.
	late, err := c.Attach(context.Background(), AttachOptions{Stdout: true, Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	if stdout, stderr := demux(t, readAll(t, late, 10*time.Second)); stdout != "hello\n" || stderr != "" {
		t.Errorf("late attach: stdout %q, stderr %q", stdout, stderr)
	}
	late.Close()
	if err := c.Signal(syscall.SIGTERM); !errdefs.IsConflict(err) {
		t.Errorf("Signal after the exit: %v, want a conflict", err)
	}

	c.Close()
	select {
	case <-c.reaped:
	case <-time.After(10 * time.Second):
		t.Fatal("monitor still running after the container exited and its Client closed")
	}
	for _, name := range []string{socketFile, monitorPidFile, initPidFile} {
		if _, err := os.Stat(filepath.Join(cfg.StateDir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", name, err)
		}
	}
	// Gone, the monitor still answers Wait through its record.
	if exit2, err := c.Wait(context.Background()); !errors.Is(err, errClientClosed) {
		t.Errorf("Wait on a closed Client: %+v, %v", exit2, err)
	}
	c2 := &Client{dir: cfg.StateDir, conns: map[*net.UnixConn]struct{}{}}
	if exit2, err := c2.Wait(context.Background()); err != nil || exit2 != exit {
		t.Errorf("Wait with the monitor gone: %+v, %v; want %+v", exit2, err, exit)
	}
	if _, err := Connect(context.Background(), cfg.StateDir); !errdefs.IsNotFound(err) {
		t.Errorf("Connect to an exited monitor: %v, want not found", err)
	}
}

func TestTTY(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sh")
	cfg.Tty, cfg.OpenStdin, cfg.StdinOnce = true, true, true
	cfg.ConsoleSize = [2]uint16{30, 100}
	c := startMonitor(t, cfg)

	s, err := c.Attach(context.Background(), AttachOptions{Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// h""i: the terminal echoes the command line; only the output says hi.
	// The pty is the container's own (console mode): tty can name it.
	fmt.Fprintf(s, "echo h\"\"i; stty size; tty\n")
	readUntil(t, s, "hi\r\n30 100\r\n/dev/pts/0\r\n", 10*time.Second)

	if err := c.Resize(40, 120); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(s, "stty size\n")
	readUntil(t, s, "40 120\r\n", 10*time.Second)

	fmt.Fprintf(s, "exit 5\n")
	readAll(t, s, 10*time.Second)
	if exit := waitExit(t, c); exit.Code != 5 {
		t.Errorf("exit %+v, want code 5", exit)
	}
	if stdout, stderr := logRecords(t, cfg.Log.Path); !strings.Contains(stdout, "40 120") || stderr != "" {
		t.Errorf("log: stdout %q, stderr %q", stdout, stderr)
	}
}

// The console has its size before the container's first instruction, when
// the monitor allocates the pty (a starter without console mode).
func TestConsoleSizeFromFirstByte(t *testing.T) {
	t.Parallel()
	cfg := hostConfig(t, "stty", "size")
	cfg.Tty = true
	cfg.ConsoleSize = [2]uint16{33, 111}
	c := startMonitor(t, cfg)
	s, err := c.Attach(context.Background(), AttachOptions{Stdout: true, Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.CloseWrite() // docker run -t without -i: no stdin, the session goes on
	if got := string(readAll(t, s, 10*time.Second)); got != "33 111\r\n" {
		t.Errorf("stty size printed %q", got)
	}
}

// In console mode (engine/runtime allocates the pty in the container), the
// size reaches the runtime and is set before the process runs; zero is
// 24x80.
func TestConsoleSizeFromFirstByteConsoleMode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		size [2]uint16
		want string
	}{{[2]uint16{40, 120}, "40 120\r\n"}, {[2]uint16{}, "24 80\r\n"}} {
		for range 3 {
			cfg := testConfig(t, "stty", "size")
			cfg.Tty = true
			cfg.ConsoleSize = tc.size
			c := startMonitor(t, cfg)
			s, err := c.Attach(context.Background(), AttachOptions{Stdout: true, Replay: true})
			if err != nil {
				t.Fatal(err)
			}
			s.CloseWrite()
			if got := string(readAll(t, s, 10*time.Second)); got != tc.want {
				t.Errorf("ConsoleSize %v: stty size printed %q, want %q", tc.size, got, tc.want)
			}
			s.Close()
		}
	}
}

// A TTY client whose stdin ends (docker's detach) ends only its own session.
func TestTTYDetach(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sh")
	cfg.Tty, cfg.OpenStdin, cfg.StdinOnce = true, true, true
	c := startMonitor(t, cfg)

	s, err := c.Attach(context.Background(), AttachOptions{Stdin: true, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(s, "echo fi\"\"rst\n")
	readUntil(t, s, "first\r\n", 10*time.Second)
	s.CloseWrite()
	readAll(t, s, 10*time.Second) // the session ends...
	s.Close()

	s2, err := c.Attach(context.Background(), AttachOptions{Stdin: true, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	fmt.Fprintf(s2, "echo sec\"\"ond\n") // ...and the shell still reads its terminal
	readUntil(t, s2, "second\r\n", 10*time.Second)
}

func TestStdinOnce(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "cat")
	cfg.OpenStdin, cfg.StdinOnce = true, true
	c := startMonitor(t, cfg)

	s, err := c.Attach(context.Background(), AttachOptions{Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fmt.Fprintf(s, "ping\n")
	readUntil(t, s, "ping\n", 10*time.Second)
	fmt.Fprintf(s, "pong\n")
	if err := s.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	// The rest of the output, after the first frame read above.
	rest := readAll(t, s, 10*time.Second)
	if stdout, _ := demux(t, rest); stdout != "pong\n" {
		t.Errorf("after ping: %q", stdout)
	}
	if exit := waitExit(t, c); exit.Code != 0 {
		t.Errorf("cat: %+v", exit)
	}
}

// Without StdinOnce the container's stdin outlives a client's.
func TestStdinStaysOpen(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "cat")
	cfg.OpenStdin = true
	c := startMonitor(t, cfg)
	for _, word := range []string{"one", "two"} {
		s, err := c.Attach(context.Background(), AttachOptions{Stdin: true, Stdout: true})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(s, word)
		readUntil(t, s, word+"\n", 10*time.Second)
		s.CloseWrite()
		s.Close()
	}
}

func TestSignal(t *testing.T) {
	t.Parallel()
	// The shell reports SIGUSR1 and goes on: Signal is not "stop".
	cfg := testConfig(t, "sh", "-c", `trap "echo usr1" USR1; echo ready; while :; do sleep 0.05; done`)
	c := startMonitor(t, cfg)
	s, err := c.Attach(context.Background(), AttachOptions{Stdout: true, Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	readUntil(t, s, "ready", 10*time.Second)
	if err := c.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	readUntil(t, s, "usr1", 10*time.Second)
	if err := c.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if exit := waitExit(t, c); exit.Code != 137 {
		t.Errorf("killed: %+v, want 137", exit)
	}
	if err := c.Signal(syscall.Signal(99)); !errdefs.IsInvalidArgument(err) {
		t.Errorf("signal 99: %v", err)
	}
}

// The daemon dies (SIGKILL) while its container runs; the monitor, in its
// own session, keeps the container and its log, and a new daemon
// reconnects.
func TestSurvivesDaemon(t *testing.T) {
	t.Parallel()
	// As PID 1 of its namespace the shell gets only the signals it handles
	// (as under Docker): it handles SIGTERM by exiting with 143.
	cfg := testConfig(t, "sh", "-c", `trap "exit 143" TERM; i=0; while :; do i=$((i+1)); echo line $i; sleep 0.1; done`)
	cfgPath := filepath.Join(t.TempDir(), "cfg.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}

	daemon := exec.Command("/proc/self/exe", "-test.run=^$")
	daemon.Env = append(os.Environ(), daemonEnv+"="+cfgPath)
	out, err := daemon.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if !strings.HasPrefix(line, "started ") {
		daemon.Process.Kill()
		daemon.Wait()
		t.Fatalf("stand-in daemon: %q, %v", line, err)
	}
	initPid, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "started ")))
	monPid := monitorPid(t, cfg.StateDir)

	st, err := procStat(monPid)
	if err != nil {
		t.Fatal(err)
	}
	if st.session != monPid || st.pgrp != monPid || st.session == getsid() || st.pgrp == unix.Getpgrp() {
		t.Errorf("monitor %d: session %d, group %d; the test's: %d, %d", monPid, st.session, st.pgrp, getsid(), unix.Getpgrp())
	}
	daemon.Process.Kill()
	daemon.Wait()
	if !alive(monPid) || !alive(initPid) {
		t.Fatalf("the daemon's death took the monitor (%v) or the container (%v)", alive(monPid), alive(initPid))
	}
	defer reapOrphan(t, monPid, 20*time.Second) // adopted by this process (subreaper)

	c, err := Connect(context.Background(), cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Pid() != initPid {
		t.Errorf("Connect: pid %d, want %d", c.Pid(), initPid)
	}
	s, err := c.Attach(context.Background(), AttachOptions{Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// New lines arrive live (no replay asked for).
	seen := readUntil(t, s, "line 3\n", 5*time.Second)
	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if exit := waitExit(t, c); exit.Code != 143 {
		t.Errorf("after SIGTERM: %+v, want 143", exit)
	}
	// The log kept the lines nobody read while no daemon was there.
	logged, _ := logRecords(t, cfg.Log.Path)
	if n := strings.Count(logged, "line "); n < 3 || !strings.Contains(logged, "line 1\n") {
		t.Errorf("log has %d lines: %q (attach saw %q)", n, logged, seen)
	}
}

// A monitor killed with SIGKILL leaves no answer and no exit record, and
// leaves its container running, unsupervised (see doc.go).
func TestMonitorKilled(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sleep", "1000")
	c := startMonitor(t, cfg)
	monPid := monitorPid(t, cfg.StateDir)
	if err := unix.Kill(monPid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.reaped:
	case <-time.After(10 * time.Second):
		t.Fatal("monitor not reaped")
	}
	if _, err := Connect(context.Background(), cfg.StateDir); !errdefs.IsNotFound(err) {
		t.Errorf("Connect: %v, want not found", err)
	}
	if _, err := ReadExit(cfg.StateDir); !errdefs.IsNotFound(err) {
		t.Errorf("ReadExit: %v, want not found", err)
	}
	if _, err := c.Wait(context.Background()); !errdefs.IsNotFound(err) {
		t.Errorf("Wait: %v, want not found", err)
	}
	// init.pid names the orphan, for the daemon to clean up.
	b, err := os.ReadFile(filepath.Join(cfg.StateDir, initPidFile))
	if err != nil {
		t.Fatal(err)
	}
	if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid != c.Pid() || !alive(pid) {
		t.Fatalf("init.pid %q: want the running %d", b, c.Pid())
	}
	// What a daemon finding a dead monitor does: kill the orphan, remove
	// its cgroup.
	unix.Kill(c.Pid(), unix.SIGKILL)
	reapOrphan(t, c.Pid(), 10*time.Second)
	removeCgroup(t, cfg)

	// The container starts again in the same state directory, over the
	// dead monitor's files.
	cfg.Spec.Process.Args = []string{"sh", "-c", "echo again"}
	c2 := startMonitor(t, cfg)
	if exit := waitExit(t, c2); exit.Code != 0 {
		t.Errorf("restart: %+v", exit)
	}
	if stdout, _ := logRecords(t, cfg.Log.Path); stdout != "again\n" {
		t.Errorf("restart logged %q", stdout)
	}
}

func removeCgroup(t *testing.T, cfg Config) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", cfg.CgroupParent, cfg.ID))
	for _, d := range dirs {
		if err := os.Remove(d); err != nil {
			t.Errorf("remove cgroup: %v", err)
		}
	}
}

// A container killed for memory is recorded as OOMKilled.
func TestOOMKilled(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived")
	cfg.Resources.Memory, cfg.Resources.MemorySwap = 16<<20, 16<<20
	c := startMonitor(t, cfg)
	exit := waitExit(t, c)
	if !exit.OOMKilled || exit.Code != 137 {
		t.Errorf("exit %+v, want OOM-killed with 137", exit)
	}
	// Waiters are answered before the cgroup is gone; the monitor exits
	// only once it is.
	c.Close()
	select {
	case <-c.reaped:
	case <-time.After(10 * time.Second):
		t.Fatal("monitor still running after the container exited and its Client closed")
	}
	if dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", cfg.CgroupParent, cfg.ID)); len(dirs) > 0 {
		t.Errorf("cgroup left behind: %v", dirs)
	}
}

// A client that never reads does not slow the container: it is dropped,
// and the log gets everything.
func TestSlowClient(t *testing.T) {
	t.Parallel()
	const lines = 300_000 // 5.4 MB, well past the queue and the socket buffers
	cfg := testConfig(t, "sh", "-c", fmt.Sprintf("yes line-of-output | head -n %d", lines))
	cfg.OpenStdin = true // keep the container waiting for nothing but its output
	c := startMonitor(t, cfg)
	s, err := c.Attach(context.Background(), AttachOptions{Stdout: true, Stderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exit, err := c.Wait(ctx)
	if err != nil || exit.Code != 0 {
		t.Fatalf("container blocked by a client that does not read: %+v, %v", exit, err)
	}
	logged, _ := logRecords(t, cfg.Log.Path)
	if n := strings.Count(logged, "line-of-output\n"); n != lines {
		t.Errorf("log has %d lines, want %d", n, lines)
	}
	// The client was dropped: its stream ends short of the output.
	got := len(readAllLenient(s))
	if got >= lines*len("line-of-output\n") {
		t.Errorf("slow client got all %d bytes", got)
	}
}

// readAllLenient reads until EOF or any error (a dropped client may see
// ECONNRESET).
func readAllLenient(s *Stream) []byte {
	var b []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := s.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			return b
		}
	}
}

func TestLongStateDir(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sh", "-c", "echo long")
	cfg.StateDir = filepath.Join(filepath.Dir(cfg.StateDir), strings.Repeat("d", 80), "containers", cfg.ID)
	if len(cfg.StateDir) < 150 {
		t.Fatalf("state dir only %d long", len(cfg.StateDir))
	}
	cfg.Log.Path = filepath.Join(cfg.StateDir, "container-json.log")
	c := startMonitor(t, cfg)
	s, err := c.Attach(context.Background(), AttachOptions{Stdout: true, Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if stdout, _ := demux(t, readAll(t, s, 10*time.Second)); stdout != "long\n" {
		t.Errorf("stdout %q", stdout)
	}
	if exit := waitExit(t, c); exit.Code != 0 {
		t.Errorf("exit %+v", exit)
	}
	fi, err := os.Stat(filepath.Join(cfg.StateDir, socketFile))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode().Type() != os.ModeSocket {
		t.Errorf("socket: %v, %v", fi.Mode(), err)
	}
}

func TestStartFailure(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "no-such-command", "arg")
	c, err := Start(context.Background(), cfg)
	if err == nil {
		c.Close()
		t.Fatal("Start succeeded")
	}
	const want = `exec: "no-such-command": executable file not found in $PATH`
	if !errdefs.IsNotFound(err) || err.Error() != want {
		t.Errorf("Start: %q (not found: %v), want %q", err, errdefs.IsNotFound(err), want)
	}
	for _, name := range []string{socketFile, monitorPidFile, initPidFile, exitFile} {
		if _, err := os.Stat(filepath.Join(cfg.StateDir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", name, err)
		}
	}
	if _, err := Connect(context.Background(), cfg.StateDir); !errdefs.IsNotFound(err) {
		t.Errorf("Connect: %v", err)
	}
}

// A Start whose context ends before the container runs leaves nothing.
func TestStartAbandoned(t *testing.T) {
	t.Parallel()
	cfg := hostConfig(t, "block-start")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	c, err := Start(ctx, cfg)
	if err == nil {
		c.Close()
		t.Fatal("Start succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Start: %v, want the context's error", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, monitorPidFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("monitor.pid left behind: %v", err)
	}
}

func TestStartTwice(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sleep", "1000")
	startMonitor(t, cfg)
	if c, err := Start(context.Background(), cfg); !errdefs.IsConflict(err) {
		if err == nil {
			c.Close()
		}
		t.Errorf("second Start: %v, want a conflict", err)
	}
}

func getsid() int {
	sid, _ := unix.Getsid(0)
	return sid
}

// Closing the Client (as the daemon does once the container exited) leaves
// attach sessions to finish delivering the output.
func TestCloseLeavesStreams(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sh", "-c", "sleep 0.2; yes tail-of-output | head -n 20000")
	c := startMonitor(t, cfg)
	s, err := c.Attach(context.Background(), AttachOptions{Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	stdout, _ := demux(t, readAll(t, s, 10*time.Second))
	s.Close()
	if n := strings.Count(stdout, "tail-of-output\n"); n != 20000 {
		t.Errorf("stream got %d lines after Close, want 20000", n)
	}
	select {
	case <-c.reaped:
	case <-time.After(10 * time.Second):
		t.Fatal("monitor still running")
	}
}

// docker stop, then docker start at once: the first monitor may still be
// finishing (its Client was just closed) when the second Start comes. The
// second waits for it rather than refusing, and the first one's end does
// not remove the second one's files.
func TestStartRightAfterTheLastExit(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "true")
	for i := range 5 {
		c, err := Start(context.Background(), cfg)
		if err != nil {
			t.Fatalf("Start %d: %v", i, err)
		}
		if exit := waitExit(t, c); exit.Code != 0 {
			t.Fatalf("run %d: exit %+v", i, exit)
		}
		c.Close() // the monitor finishes in the background
	}
	cfg.Spec.Process.Args = []string{"sleep", "1000"}
	c, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeMonitor(t, c) })
	time.Sleep(100 * time.Millisecond) // the previous monitor would be gone
	if pid := monitorPid(t, cfg.StateDir); pid <= 0 {
		t.Errorf("monitor.pid: %d", pid)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, initPidFile)); err != nil {
		t.Errorf("init.pid: %v", err)
	}
	if err := c.Resize(10, 10); err != nil { // its socket answers
		t.Errorf("Resize: %v", err)
	}
}

// Where the init joins its v1 cgroups itself, the container's processes,
// those its init forked included, are grouped in its v2 directory once it
// has run a while (joinV2).
func TestV2GroupsTheContainersProcesses(t *testing.T) {
	cfg := testConfig(t, "sh", "-c", "sleep 30 & sleep 30; echo")
	c := startMonitor(t, cfg)
	cg, err := cgroup.Load(testCgroupParent, cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	v2 := cg.Paths()["unified"]
	if v2 == "" {
		t.Fatalf("no v2 hierarchy: cgroups %v", cg.Paths())
	}
	procs := func() (all, inV2 []string) {
		pids, _ := cg.Pids() // of every hierarchy
		for _, pid := range pids {
			all = append(all, strconv.Itoa(pid))
		}
		b, _ := os.ReadFile(filepath.Join(v2, "cgroup.procs"))
		inV2 = strings.Fields(string(b))
		slices.Sort(all)
		slices.Sort(inV2)
		return all, inV2
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		want, got := procs()
		if len(want) == 3 && slices.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("v2 directory holds %v, want the container's processes %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Signal(syscall.SIGKILL)
	waitExit(t, c)
}
