package main

// Nothing of a container outlives it: after the containers are removed, no
// mounts, cgroups, monitor processes or veths remain, and the daemon holds
// no more file descriptors than before, whatever the containers went
// through (attach, exec, logs -f, events, stats streams cut short, kills).

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestContainersLeaveNothingBehind(t *testing.T) {
	d := withBusybox(t)
	// Warm up: the daemon's first container opens what it keeps (database
	// connections, the events bus).
	mustSucceed(t, "warm-up", d.docker("run", "--rm", "busybox", "true"))
	baseline := d.fds()

	// stream runs a docker command that streams until it is cut.
	stream := func(args ...string) func() {
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, "docker", args...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.socket, "DOCKER_CONFIG="+filepath.Join(d.workDir, "docker-config"))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return func() { cancel(); cmd.Wait() }
	}

	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "leak" + strconv.Itoa(i)
			mustSucceed(t, "run -d", d.docker("run", "-d", "--name", name, "-v", "leakvol"+strconv.Itoa(i)+":/data", "busybox", "sh", "-c",
				"trap 'exit 0' TERM; while :; do echo tick; sleep 0.05; done"))
			stops := []func(){
				stream("logs", "-f", name),
				stream("attach", "--no-stdin", name),
				stream("stats", name),
				stream("events", "--filter", "container="+name),
				stream("exec", name, "sleep", "1000"),
			}
			mustSucceed(t, "exec", d.docker("exec", name, "sh", "-c", "echo $$"))
			mustSucceed(t, "run --rm", d.docker("run", "--rm", "busybox", "echo", name))
			time.Sleep(200 * time.Millisecond) // let the streams get going
			for _, stop := range stops {
				stop()
			}
			if i%2 == 0 {
				mustSucceed(t, "kill", d.docker("kill", name))
			} else {
				mustSucceed(t, "stop", d.docker("stop", name))
			}
			mustSucceed(t, "rm", d.docker("rm", "-v", name))
			mustSucceed(t, "volume rm", d.docker("volume", "rm", "leakvol"+strconv.Itoa(i)))
		}()
	}
	wg.Wait()

	checkNoLeftovers(t, d)
	// Connections the CLIs closed may take a moment to be noticed.
	var fds []string
	deadline := time.Now().Add(10 * time.Second)
	for fds = d.fds(); len(fds) > len(baseline) && time.Now().Before(deadline); fds = d.fds() {
		time.Sleep(50 * time.Millisecond)
	}
	if len(fds) > len(baseline) {
		t.Errorf("the daemon holds %d file descriptors, %d before the containers:\n%v\nbefore:\n%v", len(fds), len(baseline), fds, baseline)
	}
}
