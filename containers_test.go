package main

// End-to-end tests of the tutorial's container steps with the docker CLI
// (and skiff's own CLI where it has the command), against a real daemon.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// withBusybox starts a daemon with the busybox test image as busybox:latest.
func withBusybox(t *testing.T) *skiffd {
	t.Helper()
	d := startSkiffd(t, "")
	mustSucceed(t, "import", d.skiff("import", rootfsFile(t), "busybox:latest"))
	t.Cleanup(func() {
		// Leave no container running behind a failed test.
		if ids := strings.Fields(d.docker("ps", "-aq").stdout); len(ids) > 0 {
			d.docker(append([]string{"rm", "-f"}, ids...)...)
		}
	})
	return d
}

func TestTutorialRunPsStartRm(t *testing.T) {
	d := withBusybox(t)
	if out := mustSucceed(t, "run", d.docker("run", "busybox", "echo", "hello world")); out != "hello world\n" {
		t.Fatalf("docker run printed %q", out)
	}
	ps := mustSucceed(t, "ps -a", d.docker("ps", "-a"))
	if !regexp.MustCompile(`(?m)^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES\n[0-9a-f]{12} +busybox +"echo 'hello world'" +.* ago +Exited \(0\) .* ago +[a-z]+_[a-z]+\d*\n$`).MatchString(ps) {
		t.Errorf("docker ps -a:\n%s", ps)
	}
	if out := mustSucceed(t, "ps", d.docker("ps", "-q")); out != "" {
		t.Errorf("docker ps lists a stopped container: %q", out)
	}
	id := strings.TrimSpace(mustSucceed(t, "ps -lq", d.docker("ps", "-lq")))
	// start -i re-runs the stopped container attached.
	if out := mustSucceed(t, "start -i", d.docker("start", "-i", id)); out != "hello world\n" {
		t.Errorf("docker start -i printed %q", out)
	}
	if out := mustSucceed(t, "logs", d.docker("logs", id)); out != "hello world\nhello world\n" {
		t.Errorf("docker logs printed %q", out)
	}
	if out := mustSucceed(t, "rm", d.docker("rm", id)); out != id+"\n" {
		t.Errorf("docker rm printed %q", out)
	}
	if out := mustSucceed(t, "ps -aq", d.docker("ps", "-aq")); out != "" {
		t.Errorf("container left after rm: %q", out)
	}
}

func TestRunExitCodesAndErrors(t *testing.T) {
	d := withBusybox(t)
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"}, 3, "err\n"},
		{[]string{"run", "--rm", "busybox", "nosuchcommand"}, 127, `exec: "nosuchcommand": executable file not found in $PATH`},
		{[]string{"run", "--rm", "busybox", "/etc"}, 126, "permission denied"},
		{[]string{"run", "--rm", "-u", "nosuch", "busybox", "true"}, 125, "unable to find user nosuch: no matching entries in passwd file"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args[2:], " "), func(t *testing.T) {
			r := d.docker(tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d with %q", r.code, r.stderr, tc.code, tc.stderr)
			}
		})
	}
	if out := mustSucceed(t, "ps -aq", d.docker("ps", "-aq")); out != "" {
		t.Errorf("--rm left containers: %q", out)
	}
}

// The tutorial's interactive shell: run -t -i, type, Ctrl-P Ctrl-Q leaves
// it running, attach re-enters, exit ends it.
func TestInteractiveShellDetachAndAttach(t *testing.T) {
	d := withBusybox(t)
	term := d.dockerTerminal(t, "run", "-t", "-i", "--name", "shell", "busybox", "/bin/sh")
	term.waitFor(t, "/ # ")
	term.write(t, "echo $((6*7)); tty\n")
	term.waitFor(t, "42\r\n/dev/pts/0")
	term.write(t, "\x10\x11") // Ctrl-P Ctrl-Q
	if code := term.wait(t); code != 0 {
		t.Errorf("docker run -it exited %d after detaching, want 0", code)
	}
	if out := mustSucceed(t, "ps", d.docker("ps", "--format", "{{.Names}} {{.Status}}")); !strings.HasPrefix(out, "shell Up ") {
		t.Fatalf("after detaching, docker ps shows %q", out)
	}
	term = d.dockerTerminal(t, "attach", "shell")
	term.write(t, "echo again\n")
	term.waitFor(t, "again\r\n")
	term.write(t, "exit 5\n")
	if code := term.wait(t); code != 5 {
		t.Errorf("attach ended with %d, want the shell's 5", code)
	}
	if out := mustSucceed(t, "ps -a", d.docker("ps", "-a", "--format", "{{.Status}}")); !strings.HasPrefix(out, "Exited (5)") {
		t.Errorf("status after exit: %q", out)
	}
}

func TestStartStopRestartAndExec(t *testing.T) {
	d := withBusybox(t)
	id := strings.TrimSpace(mustSucceed(t, "run -d", d.docker("run", "-d", "--name", "web", "busybox", "sh", "-c",
		"trap 'echo bye; exit 0' TERM; echo started; while :; do sleep 1; done")))
	if len(id) != 64 {
		t.Fatalf("run -d printed %q, want the ID", id)
	}
	out := mustSucceed(t, "exec", d.docker("exec", "-e", "X=1", "-w", "/tmp", "web", "sh", "-c", "echo $X $(pwd) $(hostname)"))
	if out != "1 /tmp "+id[:12]+"\n" {
		t.Errorf("exec printed %q", out)
	}
	if r := d.docker("exec", "web", "sh", "-c", "exit 7"); r.code != 7 {
		t.Errorf("exec exit code %d, want 7", r.code)
	}
	start := time.Now()
	mustSucceed(t, "stop", d.docker("stop", "web"))
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stop of a container that handles SIGTERM took %v", took)
	}
	if out := mustSucceed(t, "inspect", d.docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web")); out != "exited 0\n" {
		t.Errorf("after stop: %q", out)
	}
	mustSucceed(t, "start", d.docker("start", "web"))
	// Restart only once the shell has set its trap: a SIGTERM before it
	// would go unheard (PID 1) until the timeout's SIGKILL.
	waitUntil(t, func() bool { return strings.Count(d.docker("logs", "web").stdout, "started") == 2 })
	mustSucceed(t, "restart", d.docker("restart", "-t", "2", "web"))
	if out := mustSucceed(t, "inspect", d.docker("inspect", "-f", "{{.State.Running}} {{.RestartCount}}", "web")); out != "true 0\n" {
		t.Errorf("after restart: %q", out)
	}
	waitUntil(t, func() bool { return strings.Count(d.docker("logs", "web").stdout, "started") == 3 })
	if logs := d.docker("logs", "web").stdout; strings.Count(logs, "bye") != 2 {
		t.Errorf("logs after stop, start, restart:\n%s", logs)
	}
	mustSucceed(t, "kill", d.docker("kill", "web"))
	if out := mustSucceed(t, "wait", d.docker("wait", "web")); out != "137\n" {
		t.Errorf("docker wait after kill printed %q", out)
	}
}

// A killed daemon leaves its containers running; after a restart they are
// running, attachable, exec-able, stoppable, and those that ended meanwhile
// show their true exit code.
func TestKilledDaemonKeepsContainersRunning(t *testing.T) {
	d := withBusybox(t)
	mustSucceed(t, "run -d", d.docker("run", "-d", "--name", "long", "busybox", "sh", "-c",
		"trap 'exit 0' TERM; while :; do echo tick; sleep 0.2; done"))
	mustSucceed(t, "run -d", d.docker("run", "-d", "--name", "short", "busybox", "sh", "-c", "sleep 1; exit 42"))
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
	d.exited <- nil
	time.Sleep(1500 * time.Millisecond) // "short" exits while no daemon runs

	d2 := startSkiffd(t, d.root, d.bridgeFlags()...)
	d2.workDir = d.workDir
	if out := mustSucceed(t, "ps", d2.docker("ps", "--format", "{{.Names}}")); out != "long\n" {
		t.Errorf("after restart docker ps shows %q, want long running", out)
	}
	if out := mustSucceed(t, "inspect", d2.docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "short")); out != "exited 42\n" {
		t.Errorf("the container that exited while the daemon was down: %q", out)
	}
	if out := mustSucceed(t, "exec", d2.docker("exec", "long", "echo", "still here")); out != "still here\n" {
		t.Errorf("exec after restart: %q", out)
	}
	if logs := d2.docker("logs", "--tail", "2", "long").stdout; logs != "tick\ntick\n" {
		t.Errorf("logs after restart: %q", logs)
	}
	mustSucceed(t, "stop", d2.docker("stop", "long"))
	if out := mustSucceed(t, "inspect", d2.docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "long")); out != "exited 0\n" {
		t.Errorf("after stop: %q", out)
	}
}

func TestFiftyContainersAtOnceLeaveNothingBehind(t *testing.T) {
	d := withBusybox(t)
	before := hostState(t, d)
	var wg sync.WaitGroup
	errs := make(chan string, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := d.docker("run", "--rm", "busybox", "sh", "-c", "echo $((1+"+strconv.Itoa(i)+"))")
			if r.code != 0 || r.stdout != strconv.Itoa(i+1)+"\n" {
				errs <- r.stderr + r.stdout
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a run failed: %s", e)
	}
	if out := mustSucceed(t, "ps -aq", d.docker("ps", "-aq")); out != "" {
		t.Errorf("containers left: %q", out)
	}
	waitUntil(t, func() bool { return hostState(t, d) == before })
	if after := hostState(t, d); after != before {
		t.Errorf("host state before %+v, after %+v", before, after)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
}

// terminal is a docker CLI process on a pseudo-terminal, as a user at a
// keyboard runs it.
type terminal struct {
	cmd *exec.Cmd
	pty *os.File
	mu  sync.Mutex
	out bytes.Buffer
	eof chan struct{}
}

func (d *skiffd) dockerTerminal(t *testing.T, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.socket, "DOCKER_CONFIG="+filepath.Join(d.workDir, "docker-config"))
	return startTerminal(t, cmd)
}

func (term *terminal) write(t *testing.T, s string) {
	t.Helper()
	if _, err := term.pty.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

func (term *terminal) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		term.mu.Lock()
		ok := strings.Contains(term.out.String(), s)
		term.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	term.mu.Lock()
	defer term.mu.Unlock()
	t.Fatalf("terminal never showed %q; it shows:\n%q", s, term.out.String())
}

func (term *terminal) wait(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- term.cmd.Wait() }()
	select {
	case err := <-done:
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode()
		}
		return 0
	case <-time.After(15 * time.Second):
		t.Fatal("the docker CLI did not exit")
		return -1
	}
}
