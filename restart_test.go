package main

// Restart policies, across daemon restarts too, and what a daemon does
// about a container whose monitor was killed: kill the container, remove
// its cgroup, record exit 255.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRestartPolicies(t *testing.T) {
	d := withBusybox(t)

	t.Run("on-failure:2 restarts a failing container twice, then it stays exited", func(t *testing.T) {
		mustSucceed(t, "run -d", d.docker("run", "-d", "--name", "failing", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo ran; exit 1"))
		waitFor(t, "two restarts", func() bool {
			return inspect(t, d, "{{.State.Status}} {{.RestartCount}}", "failing") == "exited 2"
		})
		// The next back-off would be 400 ms: nothing may start after it.
		time.Sleep(600 * time.Millisecond)
		if got := inspect(t, d, "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}", "failing"); got != "exited 2 1" {
			t.Errorf("after the retries: %q, want \"exited 2 1\"", got)
		}
		if logs := d.docker("logs", "failing").stdout; logs != "ran\nran\nran\n" {
			t.Errorf("logs of three runs: %q", logs)
		}
		// A successful run is not restarted.
		mustSucceed(t, "run -d", d.docker("run", "-d", "--name", "succeeding", "--restart", "on-failure", "busybox", "true"))
		waitFor(t, "the container exits", func() bool {
			return inspect(t, d, "{{.State.Status}}", "succeeding") == "exited"
		})
		time.Sleep(300 * time.Millisecond)
		if got := inspect(t, d, "{{.State.Status}} {{.RestartCount}}", "succeeding"); got != "exited 0" {
			t.Errorf("on-failure after exit 0: %q", got)
		}
	})

	t.Run("always restarts a container that exits", func(t *testing.T) {
		mustSucceed(t, "run -d", d.docker("run", "-d", "--name", "always", "--restart", "always", "busybox", "sh", "-c",
			"trap 'exit 0' USR1; echo up; while :; do sleep 0.1; done"))
		mustSucceed(t, "exec", d.docker("exec", "always", "kill", "-USR1", "1"))
		waitFor(t, "the restart", func() bool {
			return inspect(t, d, "{{.State.Status}} {{.RestartCount}}", "always") == "running 1"
		})
		waitFor(t, "the second run's output", func() bool { return d.docker("logs", "always").stdout == "up\nup\n" })
		if out := mustSucceed(t, "ps", d.docker("ps", "--filter", "name=always", "--format", "{{.Status}}")); !strings.HasPrefix(out, "Up ") {
			t.Errorf("docker ps after the restart: %q", out)
		}
		// docker stop stops it for good (until the daemon restarts).
		mustSucceed(t, "stop", d.docker("stop", "-t", "1", "always"))
		time.Sleep(300 * time.Millisecond)
		if got := inspect(t, d, "{{.State.Status}}", "always"); got != "exited" {
			t.Errorf("after docker stop: %q", got)
		}
		mustSucceed(t, "rm", d.docker("rm", "always"))
	})

	t.Run("after a daemon restart: always runs again, unless-stopped stays stopped", func(t *testing.T) {
		run := func(name string, opts ...string) string {
			args := append(append([]string{"run", "-d", "--name", name}, opts...), "busybox", "sh", "-c",
				"trap 'exit 0' TERM; while :; do sleep 0.1; done")
			return strings.TrimSpace(mustSucceed(t, "run -d "+name, d.docker(args...)))
		}
		run("always-killed", "--restart", "always")
		run("always-stopped", "--restart", "always")
		run("unless-stopped-stopped", "--restart", "unless-stopped")
		run("unless-stopped-killed", "--restart", "unless-stopped")
		run("no-policy", "--restart", "no")
		run("on-failure-killed", "--restart", "on-failure:3")
		mustSucceed(t, "stop", d.docker("stop", "always-stopped", "unless-stopped-stopped"))
		mustSucceed(t, "create", d.docker("create", "--name", "never-started", "--restart", "always", "busybox", "true"))

		pids := map[string]int{}
		for _, name := range []string{"always-killed", "unless-stopped-killed", "no-policy", "on-failure-killed"} {
			pids[name], _ = strconv.Atoi(inspect(t, d, "{{.State.Pid}}", name))
		}
		d.killDaemon(t)
		// The containers' processes end while no daemon runs.
		for name, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill the process of %s: %v", name, err)
			}
		}
		for _, pid := range pids {
			waitFor(t, "the killed processes to go", func() bool { return !processRuns(pid) })
		}

		d2 := d.restartDaemon(t)
		want := map[string]string{
			"always-killed":          "running",
			"always-stopped":         "running", // Docker's rule: always restarts with the daemon
			"unless-stopped-killed":  "running",
			"unless-stopped-stopped": "exited 0",
			"no-policy":              "exited 137",
			"on-failure-killed":      "running", // it failed while the daemon was away
			"never-started":          "created",
		}
		for name, status := range want {
			got := inspect(t, d2, "{{.State.Status}}", name)
			if got == "exited" {
				got += " " + inspect(t, d2, "{{.State.ExitCode}}", name)
			}
			if got != status {
				t.Errorf("%s after the daemon restart: %q, want %q", name, got, status)
			}
		}
		if out := mustSucceed(t, "exec", d2.docker("exec", "always-killed", "echo", "alive")); out != "alive\n" {
			t.Errorf("exec in the restarted container: %q", out)
		}
		checkNoLeftovers(t, d2)
	})
}

// processRuns reports whether pid names a process that is not a zombie
// (this machine's PID 1 may not reap the orphans it inherits).
func processRuns(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// A monitor killed while the daemon runs, or while it is down: the daemon
// kills the container it supervised (the process recorded in init.pid),
// removes its cgroup and records exit 255.
func TestDeadMonitorKillsItsContainer(t *testing.T) {
	d := withBusybox(t)
	monitorOf := func(t *testing.T, id string) (monitor, init int) {
		t.Helper()
		dir := filepath.Join(d.root, "containers", id)
		read := func(name string) int {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("the state directory of %s: %v", id[:12], err)
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return pid
		}
		monitor, init = read("monitor.pid"), read("init.pid")
		if pids := monitorsOf(dir); len(pids) != 1 || pids[0] != monitor {
			t.Fatalf("monitor.pid says %d, the processes %v", monitor, pids)
		}
		return monitor, init
	}
	checkDead := func(t *testing.T, d *skiffd, id string, init int) {
		t.Helper()
		waitFor(t, "the container's process to be killed", func() bool { return !processRuns(init) })
		waitFor(t, "the exit to be recorded", func() bool {
			return inspect(t, d, "{{.State.Status}} {{.State.ExitCode}}", id) == "exited 255"
		})
		if got := leftoversOf(t, d, []string{id}); got.cgroups != 0 {
			t.Errorf("left after the monitor's death: %+v", got)
		}
		if pids := monitorsOf(filepath.Join(d.root, "containers", id)); len(pids) != 0 {
			t.Errorf("monitors of the container left after the monitor's death: %v", pids)
		}
		// The container starts again, with a new monitor.
		mustSucceed(t, "start", d.docker("start", id))
		if out := mustSucceed(t, "exec", d.docker("exec", id, "echo", "back")); out != "back\n" {
			t.Errorf("exec after a restart: %q", out)
		}
	}

	t.Run("killed while the daemon runs", func(t *testing.T) {
		id := strings.TrimSpace(mustSucceed(t, "run -d", d.docker("run", "-d", "busybox", "sleep", "1000")))
		monitor, init := monitorOf(t, id)
		syscall.Kill(monitor, syscall.SIGKILL)
		checkDead(t, d, id, init)
		if out := mustSucceed(t, "kill", d.docker("kill", id)); out != id+"\n" {
			t.Errorf("docker kill printed %q", out)
		}
	})

	t.Run("killed while the daemon is down", func(t *testing.T) {
		id := strings.TrimSpace(mustSucceed(t, "run -d", d.docker("run", "-d", "busybox", "sleep", "1000")))
		monitor, init := monitorOf(t, id)
		d.killDaemon(t)
		syscall.Kill(monitor, syscall.SIGKILL)
		waitFor(t, "the monitor to go", func() bool { return !processRuns(monitor) })
		if !processRuns(init) {
			t.Fatalf("the container's process ended with its monitor")
		}
		d2 := d.restartDaemon(t)
		checkDead(t, d2, id, init)
		checkNoLeftovers(t, d2)
	})
}
