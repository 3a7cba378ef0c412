package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

// runningContainer starts a container that leaves a file in its own upper
// layer and sleeps, and waits for the sleep (the file is complete then;
// it exists, empty, a moment before).
func runningContainer(t *testing.T) (*Spec, *started) {
	t.Helper()
	spec := sh(t, "echo only-in-this-container > /marker; exec sleep 1000")
	c := start(t, spec, Hooks{})
	cmdline := filepath.Join("/proc", strconv.Itoa(c.Pid()), "cmdline")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if b, err := os.ReadFile(cmdline); err == nil && string(b) == "sleep\x001000\x00" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the container did not start")
		}
	}
	return spec, c
}

func execSpec(c *started, spec *Spec, args ...string) *ExecSpec {
	return &ExecSpec{
		Pid:      c.Pid(),
		Process:  Process{Args: args, Env: spec.Process.Env, Cwd: "/"},
		Security: spec.Security,
		Rlimits:  spec.Rlimits,
	}
}

func execIn(t *testing.T, es *ExecSpec, hooks Hooks) (*started, error) {
	t.Helper()
	return startWith(t, func(stdio Stdio) (*Task, error) {
		return Exec(testContext(t), es, stdio, hooks)
	})
}

func execOK(t *testing.T, es *ExecSpec) string {
	t.Helper()
	s, err := execIn(t, es, Hooks{})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	r := s.wait(t)
	if r.status.Code != 0 {
		t.Fatalf("%q exited %+v\nstdout: %s\nstderr: %s", es.Process.Args, r.status, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// TestExecEntersTheContainer proves that an exec'd process is really inside:
// it sees the file only the container's layer has, the container's PID 1
// and hostname, and its namespaces are the init's, one by one. A setns
// that silently did nothing fails it.
func TestExecEntersTheContainer(t *testing.T) {
	spec, c := runningContainer(t)
	out := execOK(t, execSpec(c, spec, "sh", "-c", `cat /marker; hostname; tr '\0' ' ' < /proc/1/cmdline; echo; echo $$; ls /proc
for ns in cgroup ipc mnt net pid uts; do readlink /proc/self/ns/$ns; done`))
	lines := strings.Split(out, "\n")
	if len(lines) < 5 {
		t.Fatalf("output:\n%s", out)
	}
	if lines[0] != "only-in-this-container" {
		t.Errorf("the exec'd process does not see the container's filesystem: %q", lines[0])
	}
	if lines[1] != testHostname {
		t.Errorf("hostname %q, want %q", lines[1], testHostname)
	}
	if lines[2] != "sleep 1000 " {
		t.Errorf("PID 1 is %q, want the container's sleep", lines[2])
	}
	if pid, err := strconv.Atoi(lines[3]); err != nil || pid < 2 || pid > 100 {
		t.Errorf("the exec'd process's pid is %q: not in the container's PID namespace", lines[3])
	}
	if p := pids(strings.Join(lines[4:], " ")); len(p) > 3 {
		t.Errorf("/proc shows %v: more than the container's processes", p)
	}
	for _, ns := range []string{"cgroup", "ipc", "mnt", "net", "pid", "uts"} {
		want, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(c.Pid()), "ns", ns))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(lines, want) {
			t.Errorf("the exec'd process is not in the container's %s namespace %s:\n%s", ns, want, out)
		}
	}
}

func TestExecExitStatus(t *testing.T) {
	spec, c := runningContainer(t)
	s, err := execIn(t, execSpec(c, spec, "sh", "-c", "exit 5"), Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.wait(t); r.status != (ExitStatus{Code: 5}) {
		t.Errorf("got %+v, want exit 5", r.status)
	}

	s, err = execIn(t, execSpec(c, spec, "sleep", "1000"), Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	s.Signal(syscall.SIGKILL)
	if r := s.wait(t); r.status != (ExitStatus{Code: 137, Signal: syscall.SIGKILL}) {
		t.Errorf("got %+v, want 137", r.status)
	}
}

func TestExecUserAndCwd(t *testing.T) {
	spec, c := runningContainer(t)
	es := execSpec(c, spec, "sh", "-c", "id; pwd; stat -c %u .; echo $HOME; ulimit -n")
	es.Process.User = "app"
	es.Process.Cwd = "/home/app/new"
	equals("uid=1000(app) gid=1000(app)\n/home/app/new\n1000\n/home/app\n1024")(t, execOK(t, es))
}

func TestExecSecurity(t *testing.T) {
	spec, c := runningContainer(t)
	out := execOK(t, execSpec(c, spec, "sh", "-c", "cat /proc/self/status; ls /proc/self/fd; unshare -U true 2>&1 || echo denied"))
	for field, want := range map[string]string{
		"CapPrm": "00000000a80425fb", "CapEff": "00000000a80425fb", "CapBnd": "00000000a80425fb",
		"CapInh": "0000000000000000", "CapAmb": "0000000000000000", "NoNewPrivs": "1", "Seccomp": "2",
	} {
		if got := statusField(out, field); got != want {
			t.Errorf("%s: %q, want %q", field, got, want)
		}
	}
	mustContain(t, out, "\n0\n1\n2\n3\n") // no descriptor leaked into the container
	mustContain(t, out, "denied")
}

func TestExecConsole(t *testing.T) {
	spec, c := runningContainer(t)
	es := execSpec(c, spec, "sh", "-c", "tty; stty size")
	es.Process.Terminal = true
	es.ConsoleSize = [2]uint16{33, 101}
	task, err := Exec(testContext(t), es, Stdio{}, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	defer task.Console().Close()
	out := readTerminal(task.Console())
	if st, err := task.Wait(); err != nil || st.Code != 0 {
		t.Fatalf("Wait: %+v, %v", st, err)
	}
	if got := <-out; got != "/dev/pts/0\n33 101\n" {
		t.Errorf("tty; stty size: %q", got)
	}
}

func TestExecCreatedHook(t *testing.T) {
	spec, c := runningContainer(t)
	var pid int
	var pidNS string
	s, err := execIn(t, execSpec(c, spec, "true"), Hooks{Created: func(p int) error {
		pid = p
		var err error
		pidNS, err = os.Readlink(filepath.Join("/proc", strconv.Itoa(p), "ns/pid"))
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.wait(t)
	want, _ := os.Readlink(filepath.Join("/proc", strconv.Itoa(c.Pid()), "ns/pid"))
	if pid != s.Pid() || pidNS != want {
		t.Errorf("hook: pid %d (task %d), pid namespace %s (container's %s)", pid, s.Pid(), pidNS, want)
	}

	_, err = execIn(t, execSpec(c, spec, "true"), Hooks{Created: func(p int) error {
		pid = p
		return errdefs.ErrUnavailable.WithMessage("no")
	}})
	if !errdefs.IsUnavailable(err) {
		t.Fatalf("Exec: %v; want the hook's error", err)
	}
	assertReaped(t, pid)
}

func TestExecErrors(t *testing.T) {
	spec, c := runningContainer(t)
	_, err := execIn(t, execSpec(c, spec, "nosuch"), Hooks{})
	if !errdefs.IsNotFound(err) || err.Error() != `exec: "nosuch": executable file not found in $PATH` {
		t.Errorf("Exec nosuch: %v", err)
	}
	es := execSpec(c, spec, "true")
	es.Process.User = "nosuch"
	if _, err := execIn(t, es, Hooks{}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Exec -u nosuch: %v", err)
	}

	// Once the container has exited there is nothing to exec into.
	c.Signal(syscall.SIGKILL)
	c.wait(t)
	if _, err := execIn(t, execSpec(c, spec, "true"), Hooks{}); !errdefs.IsNotFound(err) {
		t.Errorf("Exec into an exited container: %v", err)
	}
}

// Exec's setns happens on a thread that is thrown away afterwards: the
// test process itself stays in its own namespaces, whichever thread the
// runtime picked (the main one cannot be thrown away; see enterAndFork).
func TestExecLeavesCallerNamespaces(t *testing.T) {
	kinds := []string{"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "uts"}
	before := make(map[string]string)
	for _, ns := range kinds {
		before[ns], _ = os.Readlink("/proc/self/ns/" + ns)
	}
	spec, c := runningContainer(t)
	for range 20 {
		execOK(t, execSpec(c, spec, "true"))
	}
	for _, ns := range kinds {
		if after, _ := os.Readlink("/proc/self/ns/" + ns); after != before[ns] {
			t.Errorf("the test process's %s namespace changed from %s to %s", ns, before[ns], after)
		}
	}
}
