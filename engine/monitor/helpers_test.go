package monitor

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/engine/layer"
	"github.com/skiff-dev/skiff/engine/logfile"
	"github.com/skiff-dev/skiff/engine/runtime"
	"github.com/skiff-dev/skiff/engine/testimage"
)

// daemonEnv makes the test binary a stand-in daemon (see runTestDaemon).
const daemonEnv = "SKIFF_MONITOR_TEST_DAEMON"

// The test binary is the skiff binary of its monitors and of their
// containers' runtime roles.
func TestMain(m *testing.M) {
	runtime.MaybeReexec()
	if len(os.Args) == 3 && os.Args[1] == Role && strings.HasPrefix(filepath.Base(os.Args[2]), hostPrefix) {
		theStarter = hostStarter{}
	}
	MaybeReexec()
	if cfgPath := os.Getenv(daemonEnv); cfgPath != "" {
		runTestDaemon(cfgPath)
	}

	// Orphans (a killed stand-in daemon's monitor, a killed monitor's
	// container) become this process's children, for the tests to reap
	// and the leak check to see.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "PR_SET_CHILD_SUBREAPER:", err)
		os.Exit(1)
	}
	warmUpPoller()
	fdsBefore := openFds()
	code := m.Run()
	if code == 0 {
		code = checkLeaks(fdsBefore)
	}
	removeTestCgroups()
	if rootfsDir != "" {
		os.RemoveAll(rootfsDir)
	}
	os.Exit(code)
}

// testCgroupParent holds the tests' container cgroups.
const testCgroupParent = "skiff-monitor-test"

// removeTestCgroups removes testCgroupParent, left empty by the monitors.
func removeTestCgroups() {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + testCgroupParent)
	for _, d := range dirs {
		os.Remove(d)
	}
}

var (
	rootfsOnce sync.Once
	rootfsDir  string // the busybox layer every test container's overlay has as its lower
)

// busyboxLayer returns the unpacked busybox rootfs, shared by the tests.
func busyboxLayer(t *testing.T) string {
	t.Helper()
	rootfsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "monitor-test-rootfs-")
		if err != nil {
			t.Fatal(err)
		}
		rootfsDir = dir
		if _, err := layer.Apply(context.Background(), dir, bytes.NewReader(testimage.Rootfs(t))); err != nil {
			t.Fatalf("unpack the busybox rootfs: %v", err)
		}
	})
	if rootfsDir == "" {
		t.Fatal("no busybox rootfs")
	}
	return rootfsDir
}

// runTestDaemon starts the monitor configured in cfgPath, says so on
// stdout, and waits to be killed: a daemon that dies under its containers.
func runTestDaemon(cfgPath string) {
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	c, err := Start(context.Background(), cfg)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("started", c.Pid())
	select {}
}

// warmUpPoller makes the runtime open its netpoller descriptors before the
// fd baseline is taken.
func warmUpPoller() {
	r, w, err := os.Pipe()
	if err == nil {
		r.SetReadDeadline(time.Now())
		r.Close()
		w.Close()
	}
}

func openFds() map[string]string {
	fds := make(map[string]string)
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		fds[e.Name()] = target
	}
	return fds
}

// checkLeaks reports descriptors opened and children left by the tests.
func checkLeaks(before map[string]string) int {
	code := 0
	deadline := time.Now().Add(5 * time.Second)
	for {
		var leaked []string
		for fd, target := range openFds() {
			if before[fd] != target && !strings.HasPrefix(target, "/proc/") { // /proc/self/fd itself, read above
				leaked = append(leaked, fd+" -> "+target)
			}
		}
		children := liveChildren(os.Getpid())
		if len(leaked) == 0 && len(children) == 0 {
			return code
		}
		if time.Now().After(deadline) {
			slices.Sort(leaked)
			var kids []string
			for _, pid := range children {
				cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				kids = append(kids, fmt.Sprintf("%d %q", pid, bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
			}
			fmt.Fprintf(os.Stderr, "leak check: descriptors left open: %v; children left: %v\n", leaked, kids)
			return 1
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// liveChildren lists the running processes whose parent is pid. It reaps
// the zombies: as subreaper, this process adopts the orphans of the tests'
// host-process "containers" (a shell's sleep outliving it), which a real
// container's PID namespace would have ended.
func liveChildren(pid int) []int {
	var kids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := procStat(p)
		switch {
		case err != nil || st.ppid != pid:
		case st.state == "Z":
			var ws unix.WaitStatus
			unix.Wait4(p, &ws, unix.WNOHANG, nil)
		default:
			kids = append(kids, p)
		}
	}
	return kids
}

type stat struct {
	state               string
	ppid, pgrp, session int
}

// procStat reads the fields of /proc/<pid>/stat the tests look at.
func procStat(pid int) (stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, err
	}
	// pid (comm) state ppid pgrp session ...; comm may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	var st stat
	st.state = f[0]
	st.ppid, _ = strconv.Atoi(f[1])
	st.pgrp, _ = strconv.Atoi(f[2])
	st.session, _ = strconv.Atoi(f[3])
	return st, nil
}

// alive tells whether pid runs (a zombie does not).
func alive(pid int) bool {
	st, err := procStat(pid)
	return err == nil && st.state != "Z"
}

// reapOrphan waits for pid, a process this one adopted as subreaper.
func reapOrphan(t *testing.T, pid int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if got == pid || errors.Is(err, unix.ECHILD) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running after %v", pid, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

const testHostname = "skiff-test"

// testConfig is a busybox container running args, run by engine/runtime,
// with its own state directory and cgroup.
func testConfig(t *testing.T, args ...string) Config {
	t.Helper()
	lower := busyboxLayer(t)
	dir := t.TempDir()
	id := randomID()
	root := filepath.Join(t.TempDir(), "rootfs") // outside the state dir: its path length must not matter
	for _, d := range []string{"upper", "work", "target"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return Config{
		ID:       id,
		StateDir: filepath.Join(dir, id),
		Spec: runtime.Spec{
			ID: id,
			Root: runtime.Rootfs{
				LowerDirs: []string{lower},
				UpperDir:  filepath.Join(root, "upper"),
				WorkDir:   filepath.Join(root, "work"),
				Target:    filepath.Join(root, "target"),
			},
			Process: runtime.Process{
				Args: args,
				Env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=" + testHostname},
				Cwd:  "/",
			},
			Hostname: testHostname,
			Network:  "none",
			Security: runtime.Security{
				Capabilities:    slices.Clone(runtime.DefaultCapabilities),
				NoNewPrivileges: true,
				Seccomp:         true,
				MaskedPaths:     slices.Clone(runtime.DefaultMaskedPaths),
				ReadonlyPaths:   slices.Clone(runtime.DefaultReadonlyPaths),
			},
			Rlimits: []runtime.Rlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 1024}},
		},
		Log:          logfile.WriterConfig{Path: filepath.Join(dir, id, "container-json.log"), MaxSize: 10 << 20, MaxFiles: 3},
		CgroupParent: testCgroupParent,
	}
}

// hostPrefix starts the state directory name of a host-process config.
const hostPrefix = "host-"

// hostConfig is a "container" that is a plain host process (hostStarter):
// for what engine/runtime cannot show (a start that blocks) or does
// differently (a pty the monitor allocates).
func hostConfig(t *testing.T, args ...string) Config {
	dir := filepath.Join(t.TempDir(), hostPrefix+"container")
	return Config{
		ID:       randomID(),
		StateDir: dir,
		Spec: runtime.Spec{Process: runtime.Process{
			Args: args,
			Env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			Cwd:  "/",
		}},
		Log: logfile.WriterConfig{Path: filepath.Join(dir, "container-json.log")},
	}
}

// startMonitor starts cfg's monitor; at the end of the test the container
// is killed, the Client closed, and the monitor must be gone.
func startMonitor(t *testing.T, cfg Config) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { closeMonitor(t, c) })
	return c
}

// closeMonitor kills the container if it still runs, closes c and waits
// for the monitor to be reaped.
func closeMonitor(t *testing.T, c *Client) {
	t.Helper()
	c.Signal(syscall.SIGKILL) // fails once it has exited
	c.Close()
	select {
	case <-c.reaped:
	case <-time.After(20 * time.Second):
		t.Errorf("monitor of %s still running 20s after Close", c.dir)
	}
}

// readAll reads r to its end, failing the test after timeout.
func readAll(t *testing.T, r io.Reader, timeout time.Duration) []byte {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(r)
		ch <- result{b, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			t.Fatalf("read stream: %v (after %q)", res.err, res.b)
		}
		return res.b
	case <-time.After(timeout):
		if c, ok := r.(io.Closer); ok {
			c.Close()
		}
		res := <-ch
		t.Fatalf("stream not ended after %v; read %q", timeout, res.b)
		return nil
	}
}

// readUntil reads r until what it read contains want, and returns it.
func readUntil(t *testing.T, r io.Reader, want string, timeout time.Duration) string {
	t.Helper()
	got := make(chan string, 1)
	stop := make(chan struct{})
	go func() {
		var b []byte
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			b = append(b, buf[:n]...)
			if bytes.Contains(b, []byte(want)) || err != nil {
				got <- string(b)
				return
			}
			select {
			case <-stop:
				got <- string(b)
				return
			default:
			}
		}
	}()
	select {
	case s := <-got:
		if !strings.Contains(s, want) {
			t.Fatalf("stream ended before %q; read %q", want, s)
		}
		return s
	case <-time.After(timeout):
		close(stop)
		t.Fatalf("no %q after %v", want, timeout)
		return ""
	}
}

// demux splits stdcopy frames into the two streams.
func demux(t *testing.T, b []byte) (stdout, stderr string) {
	t.Helper()
	var out, errs strings.Builder
	for len(b) > 0 {
		if len(b) < frameHeaderLen {
			t.Fatalf("truncated frame header %q", b)
		}
		n := int(binary.BigEndian.Uint32(b[4:8]))
		if b[1] != 0 || b[2] != 0 || b[3] != 0 || len(b) < frameHeaderLen+n {
			t.Fatalf("bad frame %q", b)
		}
		p := b[frameHeaderLen : frameHeaderLen+n]
		switch b[0] {
		case streamStdout:
			out.Write(p)
		case streamStderr:
			errs.Write(p)
		default:
			t.Fatalf("frame of stream %d", b[0])
		}
		b = b[frameHeaderLen+n:]
	}
	return out.String(), errs.String()
}

// replayedStdout attaches to c's container with its output replayed, as
// docker run without -i (no stdin), and returns its stdout once it ends.
func replayedStdout(t *testing.T, c *Client) string {
	t.Helper()
	s, err := c.Attach(context.Background(), AttachOptions{Stdout: true, Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.CloseWrite()
	stdout, _ := demux(t, readAll(t, s, 10*time.Second))
	return stdout
}

func waitExit(t *testing.T, c *Client) Exit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	exit, err := c.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return exit
}

func monitorPid(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, monitorPidFile))
	if err != nil {
		t.Fatalf("monitor pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("monitor pid: %v", err)
	}
	return pid
}

// logRecords reads the container's json-file log, rotated files first.
func logRecords(t *testing.T, path string) (stdout, stderr string) {
	t.Helper()
	var b []byte
	for i := 9; i >= 0; i-- {
		name := path
		if i > 0 {
			name = fmt.Sprintf("%s.%d", path, i)
		}
		chunk, err := os.ReadFile(name)
		if err != nil && (i == 0 || !errors.Is(err, os.ErrNotExist)) {
			t.Fatalf("read log: %v", err)
		}
		b = append(b, chunk...)
	}
	var out, errs strings.Builder
	for line := range strings.Lines(string(b)) {
		var rec struct{ Log, Stream string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		switch rec.Stream {
		case "stdout":
			out.WriteString(rec.Log)
		case "stderr":
			errs.WriteString(rec.Log)
		default:
			t.Fatalf("log line %q: stream %q", line, rec.Stream)
		}
	}
	return out.String(), errs.String()
}
