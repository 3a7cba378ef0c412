package monitor

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/skiff-dev/skiff/engine/runtime"
)

func execProcess(args ...string) runtime.Process {
	return runtime.Process{Args: args, Env: []string{"PATH=/usr/bin:/bin"}, Cwd: "/"}
}

func execWait(t *testing.T, e *ExecSession) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, err := e.Wait(ctx)
	if err != nil {
		t.Fatalf("exec Wait: %v", err)
	}
	return code
}

func TestExec(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sleep", "1000")
	c := startMonitor(t, cfg)
	ctx := context.Background()

	t.Run("in the container", func(t *testing.T) {
		// Its PID namespace (the init is sleep, the shell not the host's
		// pid), its UTS namespace, its root.
		e, err := c.Exec(ctx, ExecConfig{Process: execProcess("sh", "-c", "echo $$; hostname; cat /proc/1/cmdline; echo; ls /")})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Stream().Close()
		stdout, stderr := demux(t, readAll(t, e.Stream(), 10*time.Second))
		lines := strings.Split(stdout, "\n")
		if len(lines) < 4 || lines[0] == fmt.Sprint(e.Pid()) || lines[0] == "1" || lines[1] != testHostname ||
			lines[2] != "sleep\x001000\x00" || !strings.Contains(stdout, "\nbin\n") || stderr != "" {
			t.Errorf("exec saw stdout %q, stderr %q (host pid %d)", stdout, stderr, e.Pid())
		}
		if code := execWait(t, e); code != 0 {
			t.Errorf("exit code %d", code)
		}
	})

	t.Run("output and exit code", func(t *testing.T) {
		e, err := c.Exec(ctx, ExecConfig{Process: execProcess("sh", "-c", "echo out; echo err >&2; exit 7")})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Stream().Close()
		if e.Pid() <= 0 {
			t.Errorf("pid %d", e.Pid())
		}
		stdout, stderr := demux(t, readAll(t, e.Stream(), 10*time.Second))
		if stdout != "out\n" || stderr != "err\n" {
			t.Errorf("stdout %q, stderr %q", stdout, stderr)
		}
		if code := execWait(t, e); code != 7 {
			t.Errorf("exit code %d", code)
		}
		if code := execWait(t, e); code != 7 { // again, from the session
			t.Errorf("second Wait: %d", code)
		}
	})

	t.Run("stdin", func(t *testing.T) {
		e, err := c.Exec(ctx, ExecConfig{Process: execProcess("cat"), OpenStdin: true})
		if err != nil {
			t.Fatal(err)
		}
		s := e.Stream()
		defer s.Close()
		fmt.Fprint(s, "to cat\n")
		s.CloseWrite()
		if stdout, _ := demux(t, readAll(t, s, 10*time.Second)); stdout != "to cat\n" {
			t.Errorf("cat echoed %q", stdout)
		}
		if code := execWait(t, e); code != 0 {
			t.Errorf("exit code %d", code)
		}
	})

	t.Run("tty and resize", func(t *testing.T) {
		e, err := c.Exec(ctx, ExecConfig{Process: execProcess("sh"), Tty: true, OpenStdin: true, ConsoleSize: [2]uint16{11, 22}})
		if err != nil {
			t.Fatal(err)
		}
		s := e.Stream()
		defer s.Close()
		fmt.Fprint(s, "stty size\n")
		readUntil(t, s, "11 22\r\n", 10*time.Second)
		if err := e.Resize(12, 34); err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(s, "stty size; exit 4\n")
		if out := string(readAll(t, s, 10*time.Second)); !strings.Contains(out, "12 34\r\n") {
			t.Errorf("after resize: %q", out)
		}
		if code := execWait(t, e); code != 4 {
			t.Errorf("exit code %d", code)
		}
		if err := e.Resize(1, 1); err == nil {
			t.Error("resize of an exited exec succeeded")
		}
	})

	t.Run("tty without stdin", func(t *testing.T) {
		// docker exec -t: the CLI ends its stdin at once; the output
		// still comes.
		e, err := c.Exec(ctx, ExecConfig{Process: execProcess("sh", "-c", "sleep 0.1; echo tty-out"), Tty: true})
		if err != nil {
			t.Fatal(err)
		}
		s := e.Stream()
		defer s.Close()
		s.CloseWrite()
		if out := string(readAll(t, s, 10*time.Second)); out != "tty-out\r\n" {
			t.Errorf("output %q", out)
		}
		if code := execWait(t, e); code != 0 {
			t.Errorf("exit code %d", code)
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, err := c.Exec(ctx, ExecConfig{Process: execProcess("no-such-command")})
		if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "executable file not found") {
			t.Errorf("Exec: %v", err)
		}
	})

	t.Run("client gone", func(t *testing.T) {
		// A session closed at once: the process runs on, its output is
		// discarded, its exit code kept.
		e, err := c.Exec(ctx, ExecConfig{Process: execProcess("sh", "-c", "yes | head -c 1000000; exit 2")})
		if err != nil {
			t.Fatal(err)
		}
		e.Stream().Close()
		if code := execWait(t, e); code != 2 {
			t.Errorf("exit code %d", code)
		}
	})

	// The container's exit ends its exec'd processes.
	e, err := c.Exec(ctx, ExecConfig{Process: execProcess("sleep", "1000")})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stream().Close()
	if err := c.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if exit := waitExit(t, c); exit.Code != 137 {
		t.Errorf("container: %+v", exit)
	}
	if code := execWait(t, e); code != 137 {
		t.Errorf("exec'd sleep: %d, want 137", code)
	}
	if _, err := c.Exec(ctx, ExecConfig{Process: execProcess("true")}); !errdefs.IsConflict(err) {
		t.Errorf("Exec after the exit: %v, want a conflict", err)
	}
}

// The monitor of an idle container stays small.
func TestMonitorRSS(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sleep", "1000")
	c := startMonitor(t, cfg)
	// Some traffic first: an attach and a few requests.
	s, err := c.Attach(context.Background(), AttachOptions{Stdout: true, Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for range 10 {
		if err := c.Resize(10, 10); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", monitorPid(t, cfg.StateDir)))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "VmRSS:") || strings.HasPrefix(line, "Rss") {
			t.Logf("monitor of an idle container: %s", strings.Join(strings.Fields(line), " "))
		}
	}
	if os.Getenv("RSS_DEBUG") != "" {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", monitorPid(t, cfg.StateDir)))
		t.Logf("%s", b)
		b, _ = os.ReadFile(fmt.Sprintf("/proc/%d/smaps", monitorPid(t, cfg.StateDir)))
		os.WriteFile("/tmp/smaps.txt", b, 0o644)
	}
}
