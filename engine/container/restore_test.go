package container

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/engine/testimage"
)

// The daemon kills the init recorded by a dead monitor only if that pid
// still names the same process: one started when the container did.
func TestIsContainerInitChecksTheStartTime(t *testing.T) {
	before := time.Now()
	cmd := exec.Command(testimage.BusyboxPath, "sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	after := time.Now()

	state, started, err := procStart(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	// /proc's start time is in clock ticks after a boot time in seconds.
	if state == 'Z' || started.Before(before.Add(-1100*time.Millisecond)) || started.After(after.Add(1100*time.Millisecond)) {
		t.Errorf("procStart: state %c, started %v, want between %v and %v", state, started, before, after)
	}

	c := &Container{ID: "0123456789ab", State: State{StartedAt: after}}
	if !isContainerInit(cmd.Process.Pid, c) {
		t.Errorf("the process started with the container is not recognised")
	}
	c.State.StartedAt = after.Add(time.Hour) // the pid was reused since
	if isContainerInit(cmd.Process.Pid, c) {
		t.Errorf("a process started an hour before the container is taken for its init")
	}
	// Dead (a zombie not reaped yet): nothing to kill.
	c.State.StartedAt = after
	cmd.Process.Signal(os.Kill)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if state, _, _ := procStart(cmd.Process.Pid); state == 'Z' {
			break
		}
	}
	if isContainerInit(cmd.Process.Pid, c) {
		t.Errorf("a zombie is taken for a live init")
	}
}
