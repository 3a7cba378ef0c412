package monitor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// A monitor on standby runs the next container as a monitor launched for
// it would, and its command line then names the container's state
// directory, as the daemon's checks of a monitor's pid expect.
func TestStandby(t *testing.T) {
	// Not parallel: the standby is the process's, and the tests' host
	// "containers" must not get it.
	t.Cleanup(KeepStandby())
	waitExit(t, startMonitor(t, testConfig(t, "true"))) // launches the first standby
	standby := awaitStandby(t)

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

	pid := monitorPid(t, cfg.StateDir)
	if pid != standby {
		t.Errorf("the container's monitor is %d, not the one on standby (%d)", pid, standby)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if want := []byte(os.Args[0] + "\x00" + Role + "\x00" + cfg.StateDir + "\x00"); err != nil || !bytes.HasPrefix(cmdline, want) {
		t.Errorf("command line of the monitor: %q (%v), want it to start with %q", cmdline, err, want)
	}
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
