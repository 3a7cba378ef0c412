package main

// cgroup limits as a user checks them: a container that fills its memory
// limit is OOM-killed, a fork bomb is held by the pids limit while the host
// stays responsive, --cpus becomes a CFS quota, docker stats shows the
// memory limit.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cgroupFile reads a file of container id's cgroup: the v1 controller's
// hierarchy, or the unified one.
func cgroupFile(t *testing.T, controller, id, name string) string {
	t.Helper()
	for _, dir := range []string{filepath.Join("/sys/fs/cgroup", controller, "skiff", id), filepath.Join("/sys/fs/cgroup/skiff", id)} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	t.Fatalf("container %s has no cgroup file %s (%s)", id[:12], name, controller)
	return ""
}

func TestResourceLimits(t *testing.T) {
	d := withBusybox(t)
	t.Cleanup(func() { checkNoLeftovers(t, d) })

	t.Run("a container that fills its memory limit is OOM-killed with exit 137", func(t *testing.T) {
		t.Parallel()
		r := d.docker("run", "--name", "oom", "-m", "32m", "busybox", "sh", "-c", "head -c 100m /dev/zero | tail")
		if r.code != 137 {
			t.Errorf("docker run of a memory filler: exit %d, want 137; stderr %q", r.code, r.stderr)
		}
		if got := inspect(t, d, "{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}", "oom"); got != "true 137 33554432" {
			t.Errorf("inspect after the OOM kill: %q, want \"true 137 33554432\"", got)
		}
		if out := mustSucceed(t, "ps", d.docker("ps", "-a", "--filter", "name=oom", "--format", "{{.Status}}")); !strings.HasPrefix(out, "Exited (137) ") {
			t.Errorf("docker ps: %q", out)
		}
		mustSucceed(t, "rm", d.docker("rm", "oom"))
	})

	t.Run("a fork bomb is held by --pids-limit and the host stays responsive", func(t *testing.T) {
		t.Parallel()
		// The bomb runs beside the container's init, which stays: it forks
		// once, the bomb's first process, before anything else runs, then
		// execs sleep. (Had it run the bomb's function itself, its own
		// second fork could fail at the limit, and a shell that cannot
		// fork exits.)
		id := strings.TrimSpace(mustSucceed(t, "run -d", d.docker("run", "-d", "--pids-limit", "20", "busybox", "sh", "-c",
			"(b(){ b|b& }; b) 2>/dev/null & exec sleep 1000")))
		if got := cgroupFile(t, "pids", id, "pids.max"); got != "20" {
			t.Errorf("pids.max: %q", got)
		}
		waitFor(t, "the bomb hits the limit", func() bool {
			events := cgroupFile(t, "pids", id, "pids.events")
			n, _ := strconv.Atoi(strings.TrimPrefix(events, "max "))
			return n > 0
		})
		for range 5 {
			current, _ := strconv.Atoi(cgroupFile(t, "pids", id, "pids.current"))
			if current > 20 {
				t.Errorf("pids.current %d over the limit of 20", current)
			}
			start := time.Now()
			mustSucceed(t, "ps", d.docker("ps", "-q"))
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("docker ps took %v during the fork bomb", took)
			}
		}
		start := time.Now()
		if out := mustSucceed(t, "rm -f", d.docker("rm", "-f", id)); out != id+"\n" {
			t.Errorf("docker rm -f printed %q", out)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("docker rm -f of the fork bomb took %v", took)
		}
	})

	t.Run("--cpus 0.5 lands in the CFS quota", func(t *testing.T) {
		t.Parallel()
		id := strings.TrimSpace(mustSucceed(t, "run -d", d.docker("run", "-d", "--cpus", "0.5", "busybox", "sleep", "1000")))
		defer d.docker("rm", "-f", id)
		if _, err := os.Stat("/sys/fs/cgroup/cpu/skiff/" + id); err == nil {
			quota, period := cgroupFile(t, "cpu", id, "cpu.cfs_quota_us"), cgroupFile(t, "cpu", id, "cpu.cfs_period_us")
			if quota != "50000" || period != "100000" {
				t.Errorf("cpu.cfs_quota_us %s, cpu.cfs_period_us %s; want 50000 and 100000", quota, period)
			}
		} else if got := cgroupFile(t, "cpu", id, "cpu.max"); got != "50000 100000" {
			t.Errorf("cpu.max %q, want \"50000 100000\"", got)
		}
		if got := inspect(t, d, "{{.HostConfig.NanoCpus}}", id); got != "500000000" {
			t.Errorf("HostConfig.NanoCpus %s", got)
		}
	})

	t.Run("docker stats --no-stream shows the memory limit", func(t *testing.T) {
		t.Parallel()
		mustSucceed(t, "run -d", d.docker("run", "-d", "--name", "limited", "-m", "64m", "busybox", "sleep", "1000"))
		defer d.docker("rm", "-f", "limited")
		out := mustSucceed(t, "stats", d.docker("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", "limited"))
		fields := strings.Fields(out)
		if len(fields) != 5 || fields[0] != "limited" || fields[2] != "/" || fields[3] != "64MiB" || fields[4] != "1" {
			t.Errorf("docker stats printed %q, want \"limited <usage> / 64MiB 1\"", out)
		}
		table := mustSucceed(t, "stats", d.docker("stats", "--no-stream"))
		if !strings.HasPrefix(table, "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS\n") || !strings.Contains(table, " / 64MiB ") {
			t.Errorf("docker stats --no-stream:\n%s", table)
		}
	})
}
