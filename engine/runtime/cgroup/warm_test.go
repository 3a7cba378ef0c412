package cgroup

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// WarmMigrations moves nothing: the process stays in its cgroups, on every
// hierarchy; and stop may be called more than once.
func TestWarmMigrations(t *testing.T) {
	hostLayout(t)
	before, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	stop := WarmMigrations()
	stop2 := WarmMigrations()         // shares the warm-up
	time.Sleep(20 * time.Millisecond) // a few writes
	stop()
	stop() // no effect
	if !warming() {
		t.Error("the warm-up ended while it had a user left")
	}
	stop2()
	for deadline := time.Now().Add(time.Second); warming(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the warm-up still runs 1s after its last user stopped")
		}
	}
	after, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Errorf("/proc/self/cgroup changed:\n%s\nthen:\n%s", before, after)
	}
	if ownProcsFile() == nil {
		t.Error("no cgroup.procs file of the test process's own cgroup to write to")
	}
}

func warming() bool {
	warmer.mu.Lock()
	defer warmer.mu.Unlock()
	return warmer.running
}

// BenchmarkAdd moves a new process into a container's cgroup, as a
// container's start does: "cold" when nothing migrated a process for a
// while (the kernel first waits for an RCU grace period), "warm" after
// WarmMigrations started 20 ms earlier.
func BenchmarkAdd(b *testing.B) {
	m, _, _ := newTestManager(b, Resources{})
	for _, warm := range []bool{false, true} {
		name := "cold"
		if warm {
			name = "warm"
		}
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				time.Sleep(100 * time.Millisecond) // let the semaphore go idle
				stop := func() {}
				if warm {
					stop = WarmMigrations()
					time.Sleep(20 * time.Millisecond)
				}
				cmd := exec.Command(busybox, "sleep", "10")
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				err := m.Add(cmd.Process.Pid)
				total += time.Since(start)
				stop()
				cmd.Process.Kill()
				cmd.Wait()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "add-ms")
		})
	}
}
