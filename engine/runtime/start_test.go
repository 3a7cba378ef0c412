package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func TestStartEchoHello(t *testing.T) {
	r := run(t, newSpec(t, "echo", "hello"))
	if r.stdout != "hello\n" || r.status != (ExitStatus{}) {
		t.Fatalf("got stdout %q, status %+v (stderr %q); want \"hello\\n\", exit 0", r.stdout, r.status, r.stderr)
	}
}

func TestStartStdin(t *testing.T) {
	spec := newSpec(t, "cat")
	in, w := pipe(t)
	s, err := startWith(t, func(stdio Stdio) (*Task, error) {
		stdio.Stdin = in
		return Start(testContext(t), spec, stdio, Hooks{})
	})
	in.Close()
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("through stdin\n")
	w.Close()
	if r := s.wait(t); r.stdout != "through stdin\n" {
		t.Fatalf("stdout %q", r.stdout)
	}
}

func TestStartExitCode(t *testing.T) {
	r := run(t, sh(t, "echo oops >&2; exit 3"))
	if r.status != (ExitStatus{Code: 3}) || r.stderr != "oops\n" {
		t.Fatalf("got %+v, stderr %q; want exit 3 and \"oops\\n\"", r.status, r.stderr)
	}
}

func TestStartKilledBySignal(t *testing.T) {
	s := start(t, newSpec(t, "sleep", "1000"), Hooks{})
	if err := s.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if r := s.wait(t); r.status != (ExitStatus{Code: 137, Signal: syscall.SIGKILL}) {
		t.Fatalf("got %+v, want 137 (SIGKILL)", r.status)
	}
	if err := s.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("Signal after Wait: %v, want os.ErrProcessDone", err)
	}
}

func TestStartCreatedHook(t *testing.T) {
	var hookPid int
	var ns string
	s := start(t, newSpec(t, "true"), Hooks{Created: func(pid int) error {
		hookPid = pid
		// The namespaces exist: the init is already in a PID namespace of
		// its own.
		var err error
		ns, err = os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "ns/pid"))
		return err
	}})
	s.wait(t)
	self, _ := os.Readlink("/proc/self/ns/pid")
	if hookPid != s.Pid() || ns == "" || ns == self {
		t.Fatalf("hook got pid %d (task %d), pid ns %q (test process %q)", hookPid, s.Pid(), ns, self)
	}
}

func TestStartCreatedHookFails(t *testing.T) {
	var pid int
	_, err := tryStart(t, newSpec(t, "true"), Hooks{Created: func(p int) error {
		pid = p
		return errdefs.ErrUnavailable.WithMessage("no cgroup for you")
	}})
	if !errdefs.IsUnavailable(err) || !strings.Contains(err.Error(), "no cgroup for you") {
		t.Fatalf("Start: %v; want the hook's error", err)
	}
	assertReaped(t, pid)
}

func TestStartContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var pid int
	_, err := Start(ctx, newSpec(t, "true"), Stdio{}, Hooks{Created: func(p int) error {
		pid = p
		cancel()
		time.Sleep(10 * time.Millisecond)
		return nil
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Start: %v; want context.Canceled", err)
	}
	assertReaped(t, pid)
}

// An init that dies during setup (here killed in the hook; in life, the
// OOM killer) is a failed start, not a started container.
func TestStartInitDiesDuringSetup(t *testing.T) {
	var pid int
	_, err := tryStart(t, newSpec(t, "true"), Hooks{Created: func(p int) error {
		pid = p
		return syscall.Kill(p, syscall.SIGKILL)
	}})
	if err == nil || err.Error() != "runtime-init exited during setup (signal: killed)" {
		t.Fatalf("Start: %v", err)
	}
	assertReaped(t, pid)
}

// Hooks.Created runs while the init builds the container: when the init
// fails meanwhile (and a hook may fail because it is gone), the start fails
// with the init's error.
func TestStartReportsTheInitsErrorOverTheHooks(t *testing.T) {
	spec := newSpec(t, "true")
	missing := filepath.Join(t.TempDir(), "missing")
	spec.Mounts = append(spec.Mounts, Mount{Source: missing, Destination: "/data"})
	var pid int
	_, err := tryStart(t, spec, Hooks{Created: func(p int) error {
		pid = p
		// Until the init has failed on the missing source and exited.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "stat")); err == nil && strings.Contains(string(b), ") Z ") {
				break
			}
		}
		return errors.New("the hook's own failure")
	}})
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Start: %v; want the init's error about %s", err, missing)
	}
	assertReaped(t, pid)
}

// assertReaped checks that pid, a child of the test, is gone for good.
func assertReaped(t *testing.T, pid int) {
	t.Helper()
	if pid == 0 {
		t.Fatal("no pid")
	}
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("process %d is still around (%v)", pid, err)
	}
}

func TestStartInvalidSpec(t *testing.T) {
	for name, mutate := range map[string]func(*Spec){
		"no command":       func(s *Spec) { s.Process.Args = nil },
		"relative cwd":     func(s *Spec) { s.Process.Cwd = "tmp" },
		"relative target":  func(s *Spec) { s.Root.Target = "rootfs" },
		"bad network":      func(s *Spec) { s.Network = "bridge" },
		"relative mount":   func(s *Spec) { s.Mounts = []Mount{{Source: "x", Destination: "/x"}} },
		"unknown rlimit":   func(s *Spec) { s.Rlimits = []Rlimit{{Type: "RLIMIT_NOPE"}} },
		"unknown cap":      func(s *Spec) { s.Security.Capabilities = []string{"CAP_NOPE"} },
		"rlimit over hard": func(s *Spec) { s.Rlimits = []Rlimit{{Type: "RLIMIT_NOFILE", Soft: 1 << 40, Hard: 1 << 40}} },
	} {
		t.Run(name, func(t *testing.T) {
			spec := newSpec(t, "true")
			mutate(spec)
			if _, err := tryStart(t, spec, Hooks{}); !errdefs.IsInvalidArgument(err) {
				t.Fatalf("Start: %v; want an invalid-argument error", err)
			}
		})
	}
}

// The cgroup files of Hooks.Join are joined by the init's thread itself,
// before the process runs: the process is in that cgroup.
func TestStartJoinHook(t *testing.T) {
	parent := "/sys/fs/cgroup/pids"
	if _, err := os.Stat(filepath.Join(parent, "tasks")); err != nil {
		t.Skip("no v1 pids hierarchy")
	}
	dir := filepath.Join(parent, "skiff-runtime-test-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	hooks := Hooks{Join: func() ([]*os.File, error) {
		f, err := os.OpenFile(filepath.Join(dir, "tasks"), os.O_WRONLY, 0)
		return []*os.File{f}, err
	}}
	s := start(t, sh(t, "grep :pids: /proc/self/cgroup"), hooks)
	if r := s.wait(t); r.stdout != fmt.Sprintf("%s:pids:/%s\n", pidsHierarchyID(t), filepath.Base(dir)) {
		t.Errorf("the process's pids cgroup: %q (stderr %q), want %s", r.stdout, r.stderr, dir)
	}
}

// pidsHierarchyID is the number /proc/self/cgroup gives the v1 pids
// hierarchy.
func pidsHierarchyID(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if id, rest, ok := strings.Cut(line, ":"); ok && strings.HasPrefix(rest, "pids:") {
			return id
		}
	}
	t.Fatal("no pids hierarchy in /proc/self/cgroup")
	return ""
}

// AwaitExit returns when the process exits, at once for a pid that is
// gone, and with the context's error when the context ends first; it does
// not reap a child.
func TestAwaitExit(t *testing.T) {
	cmd := exec.Command("sleep", "0.2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := AwaitExit(ctx, cmd.Process.Pid); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("AwaitExit of a running process with a short context: %v, want the deadline", err)
	}
	if err := AwaitExit(context.Background(), cmd.Process.Pid); err != nil {
		t.Fatalf("AwaitExit: %v", err)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", cmd.Process.Pid)); err != nil {
		t.Errorf("the exited child was reaped: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := AwaitExit(context.Background(), cmd.Process.Pid); err != nil {
		t.Errorf("AwaitExit of a reaped pid: %v, want nil", err)
	}
}
