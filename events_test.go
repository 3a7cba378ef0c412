package main

// docker events with Docker's line format, and the smaller lifecycle
// commands: pause/unpause (the freezer), top, rename, port, wait.

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// eventLine is docker events' default line: local time with nanoseconds,
// type, action, actor ID, attributes sorted by key.
var eventLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container (.+) ([0-9a-f]{64}) \((.*)\)$`)

func TestEventsAndSmallerLifecycleCommands(t *testing.T) {
	d := withBusybox(t)
	t.Cleanup(func() { checkNoLeftovers(t, d) })

	t.Run("docker events reports the lifecycle in Docker's format", func(t *testing.T) {
		since := time.Now()
		mustSucceed(t, "run", d.docker("run", "--name", "attached", "busybox", "echo", "hi"))
		id := strings.TrimSpace(mustSucceed(t, "run -d", d.docker("run", "-d", "--name", "ev", "busybox", "sh", "-c",
			"trap 'exit 0' TERM; while :; do sleep 0.1; done")))
		mustSucceed(t, "exec", d.docker("exec", "ev", "true"))
		if r := d.docker("exec", "ev", "sh", "-c", "exit 3"); r.code != 3 {
			t.Errorf("exec's exit code %d, want 3", r.code)
		}
		mustSucceed(t, "pause", d.docker("pause", "ev"))
		mustSucceed(t, "unpause", d.docker("unpause", "ev"))
		mustSucceed(t, "rename", d.docker("rename", "ev", "ev2"))
		mustSucceed(t, "stop", d.docker("stop", "ev2"))
		mustSucceed(t, "rm", d.docker("rm", "attached"))
		mustSucceed(t, "rm", d.docker("rm", "ev2"))

		var got []string
		execID := regexp.MustCompile(`execID=[0-9a-f]{64}`)
		// The container's network connect and disconnect, at start and
		// stop, are another test's (usernetworks_test.go).
		for _, line := range d.dockerEvents(t, since, "--filter", "type=container") {
			m := eventLine.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("not docker events' format: %q", line)
				continue
			}
			if m[2] == "create" && m[4] == "image=busybox, name=ev" && m[3] != id {
				t.Errorf("the create event names %s, want %s", m[3], id)
			}
			got = append(got, m[2]+" ("+execID.ReplaceAllString(m[4], "execID=X")+")")
		}
		want := []string{
			"create (image=busybox, name=attached)",
			"attach (image=busybox, name=attached)",
			"start (image=busybox, name=attached)",
			"die (execDuration=0, exitCode=0, image=busybox, name=attached)",
			"create (image=busybox, name=ev)",
			"start (image=busybox, name=ev)",
			"exec_create: true  (execID=X, image=busybox, name=ev)",
			"exec_start: true  (execID=X, image=busybox, name=ev)",
			"exec_die (execID=X, exitCode=0, image=busybox, name=ev)",
			"exec_create: sh -c exit 3 (execID=X, image=busybox, name=ev)",
			"exec_start: sh -c exit 3 (execID=X, image=busybox, name=ev)",
			"exec_die (execID=X, exitCode=3, image=busybox, name=ev)",
			"pause (image=busybox, name=ev)",
			"unpause (image=busybox, name=ev)",
			"rename (image=busybox, name=ev2, oldName=/ev)",
			"kill (image=busybox, name=ev2, signal=15)",
			"die (execDuration=0, exitCode=0, image=busybox, name=ev2)",
			"stop (image=busybox, name=ev2)",
			"destroy (image=busybox, name=attached)",
			"destroy (image=busybox, name=ev2)",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("docker events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// skiff events prints the same lines.
		until := unixNano(time.Now())
		dockerOut := mustSucceed(t, "docker events", d.docker("events", "--since", unixNano(since), "--until", until))
		skiffOut := mustSucceed(t, "skiff events", d.skiff("events", "--since", unixNano(since), "--until", until))
		if skiffOut != dockerOut {
			t.Errorf("skiff events:\n%s\ndocker events:\n%s", skiffOut, dockerOut)
		}
		// Filters, as docker's: exec_start matches "exec_start: <command>".
		filtered := d.dockerEvents(t, since, "--filter", "event=exec_start", "--filter", "container="+id, "--format", "{{.Action}}")
		if strings.Join(filtered, "|") != "exec_start: true |exec_start: sh -c exit 3" {
			t.Errorf("docker events --filter event=exec_start: %q", filtered)
		}
	})

	t.Run("pause freezes the container, unpause thaws it", func(t *testing.T) {
		mustSucceed(t, "run -d", d.docker("run", "-d", "--name", "counter", "busybox", "sh", "-c",
			"i=0; while :; do i=$((i+1)); echo $i; sleep 0.02; done"))
		lines := func() int { return strings.Count(d.docker("logs", "counter").stdout, "\n") }
		waitFor(t, "the counter to count", func() bool { return lines() > 2 })
		mustSucceed(t, "pause", d.docker("pause", "counter"))
		if out := mustSucceed(t, "ps", d.docker("ps", "--filter", "name=counter", "--format", "{{.Status}}")); !regexp.MustCompile(`^Up .* \(Paused\)\n$`).MatchString(out) {
			t.Errorf("docker ps of a paused container: %q", out)
		}
		if got := inspect(t, d, "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", "counter"); got != "paused true true" {
			t.Errorf("inspect of a paused container: %q", got)
		}
		paused := lines()
		time.Sleep(300 * time.Millisecond) // 15 counts if it were running
		if now := lines(); now != paused {
			t.Errorf("the paused counter went on from %d to %d", paused, now)
		}
		r := d.docker("exec", "counter", "true")
		if r.code == 0 || !strings.Contains(r.stderr, "is paused, unpause the container before exec") {
			t.Errorf("exec in a paused container: exit %d, %q", r.code, r.stderr)
		}
		if r := d.docker("pause", "counter"); r.code == 0 || !strings.Contains(r.stderr, "is already paused") {
			t.Errorf("second pause: exit %d, %q", r.code, r.stderr)
		}
		mustSucceed(t, "unpause", d.docker("unpause", "counter"))
		waitFor(t, "the counter to count again", func() bool { return lines() > paused+2 })
		if r := d.docker("unpause", "counter"); r.code == 0 || !strings.Contains(r.stderr, "is not paused") {
			t.Errorf("unpause of a running container: exit %d, %q", r.code, r.stderr)
		}
		// A paused container stops (it is thawed to get the signal).
		mustSucceed(t, "pause", d.docker("pause", "counter"))
		mustSucceed(t, "stop", d.docker("stop", "-t", "1", "counter"))
		if got := inspect(t, d, "{{.State.Status}}", "counter"); got != "exited" {
			t.Errorf("after stopping a paused container: %q", got)
		}
	})

	t.Run("top lists the container's processes as ps -ef", func(t *testing.T) {
		// The child's command line once it has exec'd: before, it reads
		// "sh -c sleep 1000 & exec sleep 999", which also holds "sleep 1000".
		execdSleep := regexp.MustCompile(`(?m)\s+sleep 1000$`)
		id := strings.TrimSpace(mustSucceed(t, "run -d", d.docker("run", "-d", "busybox", "sh", "-c", "sleep 1000 & exec sleep 999")))
		pid := inspect(t, d, "{{.State.Pid}}", id)
		var out string
		waitFor(t, "both processes", func() bool {
			out = mustSucceed(t, "top", d.docker("top", id))
			// Once forked, the second process reads "sh -c ..." until it
			// has exec'd sleep.
			return strings.Count(out, "\n") == 3 && execdSleep.MatchString(out)
		})
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if !regexp.MustCompile(`^UID +PID +PPID +C +STIME +TTY +TIME +CMD$`).MatchString(lines[0]) {
			t.Errorf("docker top's titles: %q", lines[0])
		}
		rows := strings.Join(lines[1:], "\n")
		if !regexp.MustCompile(`(?m)^root +`+pid+` +\d+ +0 +\d\d:\d\d +\? +00:00:00 +sleep 999$`).MatchString(rows) ||
			!regexp.MustCompile(`(?m)^root +\d+ +`+pid+` +0 +\d\d:\d\d +\? +00:00:00 +sleep 1000$`).MatchString(rows) {
			t.Errorf("docker top:\n%s", out)
		}
		mustSucceed(t, "rm -f", d.docker("rm", "-f", id))
		if r := d.docker("top", "nosuch"); r.code != 1 || !strings.Contains(r.stderr, "No such container: nosuch") {
			t.Errorf("top of an unknown container: exit %d, %q", r.code, r.stderr)
		}
	})

	t.Run("rename, port and wait", func(t *testing.T) {
		id := strings.TrimSpace(mustSucceed(t, "run -d", d.docker("run", "-d", "--name", "first", "busybox", "sh", "-c", "sleep 0.5; exit 3")))
		other := strings.TrimSpace(mustSucceed(t, "create", d.docker("create", "--name", "taken", "busybox", "true")))
		mustSucceed(t, "rename", d.docker("rename", "first", "second"))
		if got := inspect(t, d, "{{.Name}}", id); got != "/second" {
			t.Errorf("name after rename: %q", got)
		}
		r := d.docker("rename", "second", "taken")
		want := `Error response from daemon: Conflict. The container name "/taken" is already in use by container "` + other +
			`". You have to remove (or rename) that container to be able to reuse that name.` + "\n"
		if r.code != 1 || !strings.HasPrefix(r.stderr, want) {
			t.Errorf("rename to a taken name: exit %d, %q; want %q", r.code, r.stderr, want)
		}
		if r := d.docker("port", "second"); r.code != 0 || r.stdout != "" {
			t.Errorf("docker port without published ports: exit %d, %q %q", r.code, r.stdout, r.stderr)
		}
		if out := mustSucceed(t, "wait", d.docker("wait", "second")); out != "3\n" {
			t.Errorf("docker wait printed %q", out)
		}
		// Waiting on a stopped container answers at once, for several too.
		if out := mustSucceed(t, "wait", d.docker("wait", "second", "second")); out != "3\n3\n" {
			t.Errorf("docker wait of an exited container printed %q", out)
		}
		if got := inspect(t, d, "{{.State.ExitCode}}", id); got != strconv.Itoa(3) {
			t.Errorf("exit code %s", got)
		}
	})
}
