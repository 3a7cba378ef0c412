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

	"golang.org/x/sys/unix"
)

// A monitor on standby runs the next container as a monitor launched for
// it would, in the init it started ahead, and its command line then names
// the container's state directory, as the daemon's checks of a monitor's
// pid expect.
//
// The init started ahead serves only if the host's mount table did not
// change since it was born (see runtime.Prestarted); other tests running
// beside this one (go test ./... runs packages in parallel) mount and
// unmount all the time. So an attempt whose container got a new init
// counts only if the mount table stayed the same, watched as the runtime
// watches it; otherwise the test tries again.
func TestStandby(t *testing.T) {
	// Not parallel: the standby is the process's, and the tests' host
	// "containers" must not get it.
	t.Cleanup(KeepStandby())
	mounts := watchMounts(t)                            // before the first standby and its init exist
	waitExit(t, startMonitor(t, testConfig(t, "true"))) // launches the first standby
	for attempt := 1; ; attempt++ {
		standby := awaitStandby(t)
		ahead := awaitChild(t, standby)

		cfg := testConfig(t, "sh", "-c", "echo hello; exit 3")
		next := watchMounts(t) // before this start launches the next standby
		c := startMonitor(t, cfg)
		if stdout := replayedStdout(t, c); stdout != "hello\n" {
			t.Errorf("attach: stdout %q", stdout)
		}
		if exit := waitExit(t, c); exit.Code != 3 {
			t.Errorf("Wait: %+v", exit)
		}

		if c.Pid() != ahead {
			if mounts.changed() && attempt < 10 {
				t.Logf("attempt %d: the host's mount table changed meanwhile, and the container rightly got a new init; again", attempt)
				mounts = next
				continue
			}
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
		return
	}
}

// mountWatch tells whether the mount table changed since it was opened,
// as runtime.Prestarted does: /proc/self/mountinfo polls POLLPRI then.
type mountWatch struct{ fd int }

func watchMounts(t *testing.T) mountWatch {
	t.Helper()
	fd, err := unix.Open("/proc/self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return mountWatch{fd}
}

func (w mountWatch) changed() bool {
	n, err := unix.Poll([]unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLPRI}}, 0)
	return err != nil || n > 0
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

// A start schedules the launch of the next monitor on standby rather than
// making it at once, and RefillStandby makes it without waiting: the
// daemon calls it once a container's exit has been handled.
func TestStandbyRefill(t *testing.T) {
	t.Cleanup(KeepStandby())
	noScheduledRefills(t)

	waitExit(t, startMonitor(t, testConfig(t, "true")))
	standbys.mu.Lock()
	launched, scheduled := standbys.next != nil || standbys.filling, standbys.refill != nil
	standbys.mu.Unlock()
	if launched || !scheduled {
		t.Fatalf("after a start: next standby launched %v, its launch scheduled %v; want false, true", launched, scheduled)
	}
	RefillStandby()
	awaitStandby(t)
	standbys.mu.Lock()
	scheduled = standbys.refill != nil
	standbys.mu.Unlock()
	if scheduled {
		t.Error("RefillStandby left the scheduled launch pending")
	}
}

// A monitor launched on standby goes on standby again once its container
// has exited and its Client releases it, and serves the next container:
// one process start less per container. Back on standby, its command line
// names no container.
func TestStandbyRecycled(t *testing.T) {
	standby := firstStandby(t)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first := testConfig(t, "sh", "-c", "exit 3")
	c, err := Start(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if pid := monitorPid(t, first.StateDir); pid != standby {
		t.Fatalf("the container's monitor is %d, not the one on standby (%d)", pid, standby)
	}
	if exit := waitExit(t, c); exit.Code != 3 {
		t.Errorf("first container: %+v", exit)
	}
	if err := c.Release(); err != nil {
		t.Fatal(err)
	}
	if back := awaitStandby(t); back != standby {
		t.Fatalf("the monitor on standby after the release is %d, want the released %d", back, standby)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", standby))
	if err != nil || !bytes.Contains(cmdline, []byte("\x00"+standbyArg+"\x00")) || bytes.Contains(cmdline, []byte(first.StateDir)) {
		t.Errorf("command line of the monitor back on standby: %q (%v)", cmdline, err)
	}

	second := testConfig(t, "sh", "-c", "echo again; exit 4")
	c2, err := Start(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeMonitor(t, c2) })
	if pid := monitorPid(t, second.StateDir); pid != standby {
		t.Errorf("the second container's monitor is %d, want the recycled %d", pid, standby)
	}
	if stdout := replayedStdout(t, c2); stdout != "again\n" {
		t.Errorf("second container's stdout %q", stdout)
	}
	if exit := waitExit(t, c2); exit.Code != 4 {
		t.Errorf("second container: %+v", exit)
	}
}

// A monitor serves maxContainersPerMonitor containers at most, then exits.
func TestStandbyRecycledAtMost(t *testing.T) {
	standby := firstStandby(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var last *Client
	for i := 1; i <= maxContainersPerMonitor; i++ {
		cfg := testConfig(t, "true")
		c, err := Start(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if pid := monitorPid(t, cfg.StateDir); pid != standby {
			t.Fatalf("container %d: its monitor is %d, want the recycled %d", i, pid, standby)
		}
		waitExit(t, c)
		c.Release()
		if i < maxContainersPerMonitor {
			if back := awaitStandby(t); back != standby {
				t.Fatalf("after container %d: the monitor on standby is %d, want %d", i, back, standby)
			}
		}
		last = c
	}
	select {
	case <-last.reaped:
	case <-time.After(10 * time.Second):
		t.Fatalf("the monitor %d still runs after its %dth container", standby, maxContainersPerMonitor)
	}
	RefillStandby() // as the daemon does once an exit is handled
	if next := awaitStandby(t); next == standby {
		t.Errorf("the monitor on standby is still %d", next)
	}
}

// noScheduledRefills leaves the launches of monitors on standby to the
// test's RefillStandby calls and releases: a start's scheduled one
// (refillDelay) would otherwise race them on a busy machine.
func noScheduledRefills(t *testing.T) {
	old := refillDelay
	refillDelay = time.Hour
	t.Cleanup(func() { refillDelay = old })
}

// firstStandby keeps a monitor on standby for the test, launched by its
// RefillStandby calls and releases only (noScheduledRefills), and returns
// the pid of the first one.
func firstStandby(t *testing.T) int {
	t.Helper()
	t.Cleanup(KeepStandby())
	noScheduledRefills(t)
	waitExit(t, startMonitor(t, testConfig(t, "true"))) // launched for it: no standby yet
	RefillStandby()
	return awaitStandby(t)
}
