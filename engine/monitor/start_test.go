package monitor

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/skiff-dev/skiff/engine/testimage"
)

// A monitor closing down after its container's exit no longer listens,
// but still removes its files as it ends: the next start in its directory
// waits for it (docker stop, then docker start at once). The stand-in
// here is a shell whose command line names the directory as a monitor's
// does, and which leaves a mark as it ends.
func TestAwaitPreviousWaitsForAMonitorClosingDown(t *testing.T) {
	dir := t.TempDir()
	done := filepath.Join(dir, "done")
	closing := exec.Command(testimage.BusyboxPath, "sh", "-c", "sleep 0.3; touch "+done, Role, dir)
	if err := closing.Start(); err != nil {
		t.Fatal(err)
	}
	go closing.Wait()
	writePidFile(t, dir, closing.Process.Pid)

	if err := awaitPrevious(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(done); err != nil {
		t.Errorf("awaitPrevious returned before the monitor closing down ended: %v", err)
	}
}

// A monitor recycled after its container's exit goes on standby again
// rather than exit: the wait ends once it no longer serves the directory,
// its pid file removed. (The stand-in removes it and sleeps on.)
func TestAwaitPreviousWaitsForARecycledMonitor(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, monitorPidFile)
	recycled := exec.Command(testimage.BusyboxPath, "sh", "-c", "sleep 0.3; rm "+pidFile+"; exec sleep 30", Role, dir)
	if err := recycled.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { recycled.Process.Kill(); recycled.Wait() })
	writePidFile(t, dir, recycled.Process.Pid)

	if err := awaitPrevious(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pidFile); err == nil {
		t.Error("awaitPrevious returned while the monitor still served the directory")
	}
}

// A pid file that names another process (a monitor was killed, its pid
// reused) or no process holds nothing up.
func TestAwaitPreviousIgnoresStalePidFiles(t *testing.T) {
	tests := []struct {
		name string
		pid  int
	}{
		{"another process", os.Getpid()},
		{"no process", 1 << 22}, // above pid_max's ceiling
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writePidFile(t, dir, tt.pid)
			if err := awaitPrevious(context.Background(), dir); err != nil {
				t.Errorf("awaitPrevious: %v, want nil at once", err)
			}
		})
	}
}

func writePidFile(t *testing.T, dir string, pid int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, monitorPidFile), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}
