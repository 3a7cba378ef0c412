package runtime

import (
	"bytes"
	"context"
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

	"github.com/skiff-dev/skiff/engine/layer"
	"github.com/skiff-dev/skiff/engine/testimage"
)

// The test binary is also the runtime's role binary: Start and Exec
// re-execute it, and MaybeReexec must run before the tests do.
func TestMain(m *testing.M) {
	MaybeReexec()
	code := m.Run()
	if code == 0 {
		if kids := childProcesses(); len(kids) > 0 {
			os.Stderr.WriteString("FAIL: child processes left behind: " + strings.Join(kids, " ") + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// childProcesses lists the test process's children still around (zombies
// included).
func childProcesses() []string {
	var kids []string
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		kids = append(kids, strings.Fields(string(b))...)
	}
	return kids
}

const testHostname = "skiff-test"

// newSpec returns the spec of a busybox container running args with
// Docker's default security, in a fresh directory of t. It also checks,
// when t ends, that no mount of the test process refers to that directory:
// the container's mounts (its rootfs overlay above all) live in its own
// mount namespace only.
func newSpec(t testing.TB, args ...string) *Spec {
	t.Helper()
	dir := t.TempDir()
	checkNoMountLeak(t, dir)
	lower := mkdir(t, dir, "lower")
	if _, err := layer.Apply(context.Background(), lower, bytes.NewReader(testimage.Rootfs(t))); err != nil {
		t.Fatalf("unpack the busybox rootfs: %v", err)
	}
	return &Spec{
		ID: "0123456789abcdef",
		Root: Rootfs{
			LowerDirs: []string{lower},
			UpperDir:  mkdir(t, dir, "upper"),
			WorkDir:   mkdir(t, dir, "work"),
			Target:    mkdir(t, dir, "rootfs"),
		},
		Process: Process{
			Args: args,
			Env:  []string{"PATH=" + defaultPath, "HOSTNAME=" + testHostname},
			Cwd:  "/",
		},
		Hostname: testHostname,
		Network:  "none",
		Security: Security{
			Capabilities:    slices.Clone(DefaultCapabilities),
			NoNewPrivileges: true,
			Seccomp:         true,
			MaskedPaths:     slices.Clone(DefaultMaskedPaths),
			ReadonlyPaths:   slices.Clone(DefaultReadonlyPaths),
		},
		Rlimits: []Rlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 1024}},
	}
}

func sh(t testing.TB, script string) *Spec { return newSpec(t, "sh", "-c", script) }

func mkdir(t testing.TB, parent, name string) string {
	t.Helper()
	p := filepath.Join(parent, name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkNoMountLeak fails t if, when t ends, a mount of the test process
// refers to dir (other tests of the machine may mount things meanwhile).
func checkNoMountLeak(t testing.TB, dir string) {
	t.Helper()
	t.Cleanup(func() {
		b, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, dir) {
				t.Errorf("a mount of the container leaked to the test process: %s", line)
			}
		}
	})
}

// result is what a container process wrote and how it ended.
type result struct {
	stdout, stderr string
	status         ExitStatus
}

// started is a Task under test with its output being collected.
type started struct {
	*Task
	outputs sync.WaitGroup
	stdout  bytes.Buffer
	stderr  bytes.Buffer
	waited  bool
}

// start starts spec with pipes as stdio and makes sure the task is killed
// and reaped when t ends.
func start(t testing.TB, spec *Spec, hooks Hooks) *started {
	t.Helper()
	s, err := tryStart(t, spec, hooks)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return s
}

func tryStart(t testing.TB, spec *Spec, hooks Hooks) (*started, error) {
	t.Helper()
	return startWith(t, func(stdio Stdio) (*Task, error) {
		return Start(testContext(t), spec, stdio, hooks)
	})
}

// startWith runs startFn with pipes for stdout and stderr.
func startWith(t testing.TB, startFn func(Stdio) (*Task, error)) (*started, error) {
	t.Helper()
	outR, outW := pipe(t)
	errR, errW := pipe(t)
	task, err := startFn(Stdio{Stdout: outW, Stderr: errW})
	outW.Close()
	errW.Close()
	s := &started{Task: task}
	s.outputs.Add(2)
	go copyAll(&s.outputs, &s.stdout, outR)
	go copyAll(&s.outputs, &s.stderr, errR)
	if err != nil {
		s.outputs.Wait()
		if s.stderr.Len() > 0 {
			t.Logf("stderr of the failed start:\n%s", s.stderr.String())
		}
		return nil, err
	}
	t.Cleanup(func() {
		if !s.waited {
			s.Signal(syscall.SIGKILL)
			s.wait(t)
		}
	})
	return s, nil
}

func pipe(t testing.TB) (*os.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	return r, w
}

func copyAll(wg *sync.WaitGroup, dst *bytes.Buffer, src *os.File) {
	defer wg.Done()
	defer src.Close()
	io.Copy(dst, src)
}

// wait waits for the task and its output.
func (s *started) wait(t testing.TB) result {
	t.Helper()
	s.waited = true
	st, err := s.Wait()
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	s.outputs.Wait()
	return result{stdout: s.stdout.String(), stderr: s.stderr.String(), status: st}
}

// run runs spec to completion.
func run(t testing.TB, spec *Spec) result {
	t.Helper()
	return start(t, spec, Hooks{}).wait(t)
}

// runOK runs spec, checks it exits 0 and returns its output, trimmed.
func runOK(t testing.TB, spec *Spec) string {
	t.Helper()
	r := run(t, spec)
	if r.status.Code != 0 {
		t.Fatalf("%q exited %+v\nstdout: %s\nstderr: %s", spec.Process.Args, r.status, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// statusField returns the value of a field of /proc/<pid>/status text.
func statusField(status, field string) string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// pids returns the numeric entries of a /proc listing.
func pids(listing string) []int {
	var out []int
	for _, f := range strings.Fields(listing) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}
