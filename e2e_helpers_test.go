package main

// Helpers shared by the end-to-end tests of the container features
// (isolation, resources, volumes, process, commit, restart, events,
// leaks): a skiff CLI on a terminal, inspect shorthands, images built with
// docker import, and what a daemon's containers may leave on the host.

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/skiff-dev/skiff/engine/testimage"
)

// skiffTerminal runs skiff's CLI on a pseudo-terminal, as dockerTerminal
// runs the docker CLI.
func (d *skiffd) skiffTerminal(t *testing.T, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SKIFF_TEST_MAIN=1", "SKIFF_HOST=unix://"+d.socket)
	return startTerminal(t, cmd)
}

// startTerminal starts cmd on a new 24x80 pseudo-terminal and collects
// what it prints.
func startTerminal(t *testing.T, cmd *exec.Cmd) *terminal {
	t.Helper()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{cmd: cmd, pty: f, eof: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				close(term.eof)
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		f.Close()
	})
	return term
}

// inspect is docker inspect -f format ref, trimmed.
func inspect(t *testing.T, d *skiffd, format, ref string) string {
	t.Helper()
	return strings.TrimSpace(mustSucceed(t, "inspect "+ref, d.docker("inspect", "-f", format, ref)))
}

// waitFor polls cond for up to 15 seconds and fails with what when it
// never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// importImage makes an image with docker import from the busybox rootfs
// plus extra entries (appended to the tar), with --change options.
func (d *skiffd) importImage(t *testing.T, tag string, extra []tar.Header, changes ...string) {
	t.Helper()
	var buf bytes.Buffer
	buf.Write(testimage.Rootfs(t))
	if len(extra) > 0 {
		// The rootfs ends with the tar trailer (two zero blocks, padded to
		// a record): drop it and append the entries.
		rootfs := buf.Bytes()
		end := tarEnd(t, rootfs)
		buf.Truncate(end)
		tw := tar.NewWriter(&buf)
		for _, h := range extra {
			h.ModTime = testimage.Epoch
			if err := tw.WriteHeader(&h); err != nil {
				t.Fatal(err)
			}
		}
		tw.Close()
	}
	path := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"import"}
	for _, c := range changes {
		args = append(args, "--change", c)
	}
	mustSucceed(t, "docker import "+tag, d.docker(append(args, path, tag)...))
}

// tarEnd returns the offset of a tar stream's end-of-archive marker.
func tarEnd(t *testing.T, b []byte) int {
	t.Helper()
	r := bytes.NewReader(b)
	tr := tar.NewReader(r)
	for {
		if _, err := tr.Next(); err != nil {
			break
		}
	}
	// After the last entry's data, tar.Reader has read up to the trailer's
	// first block.
	return len(b) - r.Len() - 1024
}

// dockerEvents returns docker events --since since --until now (the
// events that happened: every command that made one has returned), one
// line each.
func (d *skiffd) dockerEvents(t *testing.T, since time.Time, args ...string) []string {
	t.Helper()
	until := time.Now().Add(50 * time.Millisecond)
	args = append([]string{"events", "--since", unixNano(since), "--until", unixNano(until)}, args...)
	out := mustSucceed(t, "docker events", d.docker(args...))
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

func unixNano(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// hostStateCounts is what a daemon's containers may leave behind on the
// host: mounts under its data root, monitor processes of its containers,
// their cgroups, veth interfaces.
type hostStateCounts struct {
	mounts, monitors, cgroups, veths, rules int
}

// hostState counts what the containers of daemon d left: those it lists
// and those whose creation it reported. Other test binaries (and other
// daemons) run beside this one, so only d's own are counted.
func hostState(t *testing.T, d *skiffd) hostStateCounts {
	t.Helper()
	ids := append(strings.Fields(d.docker("ps", "-aq", "--no-trunc").stdout), d.createdIDs(t)...)
	return leftoversOf(t, d, ids)
}

// leftoversOf counts what the containers ids of daemon d left.
func leftoversOf(t *testing.T, d *skiffd, ids []string) hostStateCounts {
	t.Helper()
	var l hostStateCounts
	mountinfo, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(mountinfo), "\n") {
		if strings.Contains(line, d.root) {
			l.mounts++
		}
	}
	l.monitors = len(monitorsOf(d.root))
	for _, id := range ids {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/skiff/" + id)
		unified, _ := filepath.Glob("/sys/fs/cgroup/skiff/" + id)
		l.cgroups += len(dirs) + len(unified)
	}
	l.veths, l.rules = d.networkOf(t, ids)
	return l
}

// monitorsOf returns the pids of the monitor processes of containers under
// data root root.
func monitorsOf(root string) []int {
	var pids []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		cmd, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(cmd, []byte("monitor\x00")) || !bytes.Contains(cmd, []byte(root)) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// fds lists the daemon's open file descriptors that containers could leak:
// all but the database's (a pool of at most 9 connections, which grows
// with concurrency) and the cgroup files the Go runtime keeps open to
// follow its CPU limit.
func (d *skiffd) fds() []string {
	dir := fmt.Sprintf("/proc/%d/fd", d.cmd.Process.Pid)
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || strings.HasPrefix(target, filepath.Join(d.root, "skiff.db")) || strings.HasPrefix(target, "/sys/fs/cgroup/") {
			continue
		}
		out = append(out, target)
	}
	return out
}

// createdIDs lists the IDs of every container the daemon created, from its
// events.
func (d *skiffd) createdIDs(t *testing.T) []string {
	t.Helper()
	var ids []string
	for _, line := range d.dockerEvents(t, time.Unix(0, 0), "--filter", "type=container", "--filter", "event=create", "--format", "{{.ID}}") {
		if line != "" {
			ids = append(ids, line)
		}
	}
	return ids
}

// checkNoLeftovers removes every container of d (with their anonymous
// volumes) and fails if anything of them stays on the host: of those it
// removes, and of every container whose creation the daemon reported
// (events are not kept across daemon restarts).
func checkNoLeftovers(t *testing.T, d *skiffd) {
	t.Helper()
	ids := strings.Fields(d.docker("ps", "-aq", "--no-trunc").stdout)
	if len(ids) > 0 {
		mustSucceed(t, "rm -f", d.docker(append([]string{"rm", "-f", "-v"}, ids...)...))
	}
	ids = append(ids, d.createdIDs(t)...)
	if len(ids) == 0 {
		t.Fatal("no container to check: neither docker ps -a nor the events show any")
	}
	var got hostStateCounts
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got = leftoversOf(t, d, ids); got == (hostStateCounts{}) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got != (hostStateCounts{}) {
		t.Errorf("after removing all containers, left on the host: %+v (monitors: %v)", got, monitorsOf(d.root))
	}
	if entries, _ := os.ReadDir(filepath.Join(d.root, "containers")); len(entries) > 0 {
		t.Errorf("after removing all containers, %d state directories are left", len(entries))
	}
}

// killDaemon ends d with SIGKILL, as a crash would.
func (d *skiffd) killDaemon(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
	d.exited <- nil
	// Its containers run on: a test that ends before it restarts the
	// daemon (one that failed) has a daemon started on the data root
	// remove them, so that none outlives the test.
	t.Cleanup(func() {
		if !d.restarted {
			d.restartDaemon(t)
		}
	})
}

// restartDaemon starts a daemon on d's data root, with d's docker config.
// Its containers are removed when the test ends, so that none outlives it,
// whatever the test's outcome.
func (d *skiffd) restartDaemon(t *testing.T) *skiffd {
	t.Helper()
	d.restarted = true
	d2 := startSkiffdIn(t, d.netns, d.root, "--bridge", d.bridge, "--bridge-subnet", d.subnet)
	d2.workDir = d.workDir
	t.Cleanup(func() {
		if ids := strings.Fields(d2.docker("ps", "-aq").stdout); len(ids) > 0 {
			d2.docker(append([]string{"rm", "-f"}, ids...)...)
		}
	})
	return d2
}
