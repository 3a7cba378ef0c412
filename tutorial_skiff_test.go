package main

// The tutorial's container steps with skiff's own CLI, on a terminal where
// the tutorial uses one: run, ps -a, start -i, rm, an interactive shell left
// with Ctrl-P Ctrl-Q and re-entered with attach, start/stop/restart.

import (
	"regexp"
	"strings"
	"testing"
)

// relativeTime hides the relative times of ps, which may differ by a second
// between two commands.
var relativeTime = regexp.MustCompile(`(Less than a second|About a minute|\d+ (seconds?|minutes?)) ago|Up (Less than a second|About a minute|\d+ (seconds?|minutes?))`)

// columnGap is the padding between table columns, whose width follows the
// longest cell: a relative time's words change it.
var columnGap = regexp.MustCompile(`  +`)

// withoutTimes is a ps table with its relative times and column padding
// made alike, so two tables printed a second apart compare equal.
func withoutTimes(table string) string {
	return columnGap.ReplaceAllString(relativeTime.ReplaceAllString(table, "T"), "  ")
}

func TestTutorialWithSkiffCLI(t *testing.T) {
	d := withBusybox(t)

	t.Run("run prints the command's output", func(t *testing.T) {
		if out := mustSucceed(t, "skiff run", d.skiff("run", "busybox", "echo", "hello world")); out != "hello world\n" {
			t.Fatalf("skiff run printed %q", out)
		}
	})
	id := strings.TrimSpace(mustSucceed(t, "skiff ps -lq", d.skiff("ps", "-lq")))
	if len(id) != 12 {
		t.Fatalf("skiff ps -lq printed %q, want a short ID", id)
	}

	t.Run("ps -a shows Docker's columns, as the docker CLI does", func(t *testing.T) {
		ps := mustSucceed(t, "skiff ps -a", d.skiff("ps", "-a"))
		if !regexp.MustCompile(`^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES\n` + id + ` +busybox +"echo 'hello world'" +.* ago +Exited \(0\) .* ago +[a-z]+_[a-z]+\d*\n$`).MatchString(ps) {
			t.Errorf("skiff ps -a:\n%s", ps)
		}
		docker := mustSucceed(t, "docker ps -a", d.docker("ps", "-a"))
		if got, want := withoutTimes(ps), withoutTimes(docker); got != want {
			t.Errorf("skiff ps -a:\n%s\ndocker ps -a:\n%s", ps, docker)
		}
		if out := mustSucceed(t, "skiff ps", d.skiff("ps", "-q")); out != "" {
			t.Errorf("skiff ps lists a stopped container: %q", out)
		}
	})

	t.Run("start -i re-runs the container attached", func(t *testing.T) {
		if out := mustSucceed(t, "skiff start -i", d.skiff("start", "-i", id)); out != "hello world\n" {
			t.Errorf("skiff start -i printed %q", out)
		}
		if out := mustSucceed(t, "skiff logs", d.skiff("logs", id)); out != "hello world\nhello world\n" {
			t.Errorf("skiff logs printed %q", out)
		}
	})

	t.Run("rm removes it", func(t *testing.T) {
		if out := mustSucceed(t, "skiff rm", d.skiff("rm", id)); out != id+"\n" {
			t.Errorf("skiff rm printed %q", out)
		}
		if out := mustSucceed(t, "skiff ps -aq", d.skiff("ps", "-aq")); out != "" {
			t.Errorf("container left after rm: %q", out)
		}
	})

	t.Run("run -t -i, Ctrl-P Ctrl-Q leaves the shell running, attach re-enters", func(t *testing.T) {
		term := d.skiffTerminal(t, "run", "-t", "-i", "busybox", "/bin/sh")
		term.waitFor(t, "/ # ")
		term.write(t, "echo $((6*7)); tty\n")
		term.waitFor(t, "42\r\n/dev/pts/0")
		term.write(t, "\x10\x11") // Ctrl-P Ctrl-Q
		if code := term.wait(t); code != 0 {
			t.Fatalf("skiff run -it exited %d after detaching, want 0", code)
		}
		ps := mustSucceed(t, "skiff ps", d.skiff("ps"))
		m := regexp.MustCompile(`(?m)^([0-9a-f]{12}) +busybox +"/bin/sh" +.* ago +Up .*$`).FindStringSubmatch(ps)
		if m == nil {
			t.Fatalf("after detaching, skiff ps shows\n%s", ps)
		}
		term = d.skiffTerminal(t, "attach", m[1])
		term.write(t, "echo again\n")
		term.waitFor(t, "again\r\n")
		term.write(t, "exit 5\n")
		if code := term.wait(t); code != 5 {
			t.Errorf("skiff attach ended with %d, want the shell's 5", code)
		}
		if out := mustSucceed(t, "ps -a", d.skiff("ps", "-a", "--filter", "id="+m[1], "--format", "{{.Status}}")); !strings.HasPrefix(out, "Exited (5)") {
			t.Errorf("status after exit: %q", out)
		}
		mustSucceed(t, "skiff rm", d.skiff("rm", m[1]))
	})

	t.Run("start, stop and restart", func(t *testing.T) {
		mustSucceed(t, "run -d", d.skiff("run", "-d", "--name", "web", "busybox", "sh", "-c",
			"trap 'echo bye; exit 0' TERM; echo started; while :; do sleep 1; done"))
		status := func() string {
			return mustSucceed(t, "ps", d.skiff("ps", "-a", "--filter", "name=web", "--format", "{{.Status}}"))
		}
		// A SIGTERM before the shell has set its trap would go unheard (it
		// is PID 1): stop only once it said it started.
		started := func(n int) {
			waitFor(t, "the container's shell to start", func() bool {
				return strings.Count(d.skiff("logs", "web").stdout, "started") == n
			})
		}
		started(1)
		if out := mustSucceed(t, "skiff stop", d.skiff("stop", "web")); out != "web\n" {
			t.Errorf("skiff stop printed %q", out)
		}
		if s := status(); !strings.HasPrefix(s, "Exited (0) ") {
			t.Errorf("after stop: %q", s)
		}
		if out := mustSucceed(t, "skiff start", d.skiff("start", "web")); out != "web\n" {
			t.Errorf("skiff start printed %q", out)
		}
		if s := status(); !strings.HasPrefix(s, "Up ") {
			t.Errorf("after start: %q", s)
		}
		started(2)
		if out := mustSucceed(t, "skiff restart", d.skiff("restart", "-t", "2", "web")); out != "web\n" {
			t.Errorf("skiff restart printed %q", out)
		}
		if s := status(); !strings.HasPrefix(s, "Up ") {
			t.Errorf("after restart: %q", s)
		}
		started(3)
		if logs := d.skiff("logs", "web").stdout; strings.Count(logs, "bye") != 2 {
			t.Errorf("logs after stop, start, restart:\n%s", logs)
		}
		if out := mustSucceed(t, "skiff rm -f", d.skiff("rm", "-f", "web")); out != "web\n" {
			t.Errorf("skiff rm -f printed %q", out)
		}
	})

	checkNoLeftovers(t, d)
}
