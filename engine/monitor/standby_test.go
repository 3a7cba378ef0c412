package monitor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A monitor on standby runs the next container as a monitor launched for
// it would, in the init it started ahead, and its command line then names
// the container's state directory, as the daemon's checks of a monitor's
// pid expect.
func TestStandby(t *testing.T) {
	// Not parallel: the standby is the process's, and the tests' host
	// "containers" must not get it.
	t.Cleanup(KeepStandby())
	waitExit(t, startMonitor(t, testConfig(t, "true"))) // launches the first standby
	standby := awaitStandby(t)
	ahead := awaitChild(t, standby)

	cfg := testConfig(t, "sh", "-c", "echo hello; exit 3")
	c := startMonitor(t, cfg)
	s, err := c.Attach(context.Background(), AttachOptions{Stdout: true, Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.CloseWrite()
	if stdout, _ := demux(t, readAll(t, s, 10*time.Second)); stdout != "hello\n" {
		t.Errorf("attach: stdout %q", stdout)
	}
	if exit := waitExit(t, c); exit.Code != 3 {
		t.Errorf("Wait: %+v", exit)
	}

	if c.Pid() != ahead {
		t.Errorf("the container's init is %d, not the one the standby started ahead (%d)", c.Pid(), ahead)
	}
	pid := monitorPid(t, cfg.StateDir)
	if pid != standby {
		t.Errorf("the container's monitor is %d, not the one on standby (%d)", pid, standby)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if want := []byte(os.Args[0] + "\x00" + Role + "\x00" + cfg.StateDir + "\x00"); err != nil || !bytes.HasPrefix(cmdline, want) {
		t.Errorf("command line of the monitor: %q (%v), want it to start with %q", cmdline, err, want)
	}
}

// awaitChild waits for the process pid to have a child, the init it starts
// ahead, and returns its pid.
func awaitChild(t *testing.T, pid int) int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var kids []string
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			kids = append(kids, strings.Fields(string(b))...)
		}
		if len(kids) == 1 {
			child, _ := strconv.Atoi(kids[0])
			return child
		}
	}
	t.Fatalf("the monitor on standby (%d) has no child 10s after it started", pid)
	return 0
}

// awaitStandby waits for the monitor on standby to be ready and returns
// its pid.
func awaitStandby(t *testing.T) int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		standbys.mu.Lock()
		p := standbys.next
		standbys.mu.Unlock()
		if p != nil {
			return p.cmd.Process.Pid
		}
	}
	t.Fatal("no monitor on standby 10s after a start")
	return 0
}
