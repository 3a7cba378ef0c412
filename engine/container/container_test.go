package container

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	containertypes "github.com/moby/moby/api/types/container"
	_ "modernc.org/sqlite"

	"github.com/skiff-dev/skiff/engine/content"
	"github.com/skiff-dev/skiff/engine/events"
	"github.com/skiff-dev/skiff/engine/image"
	"github.com/skiff-dev/skiff/engine/layer"
	"github.com/skiff-dev/skiff/engine/logfile"
	"github.com/skiff-dev/skiff/engine/monitor"
	"github.com/skiff-dev/skiff/engine/runtime"
	"github.com/skiff-dev/skiff/engine/store"
	"github.com/skiff-dev/skiff/engine/testimage"
)

func TestMain(m *testing.M) {
	runtime.MaybeReexec()
	monitor.MaybeReexec()
	os.Exit(m.Run())
}

type testEnv struct {
	*Service
	images *image.Service
	bus    *events.Bus
	root   string
}

// newTestEnv opens a data root of the test's own with the busybox image
// imported as busybox:latest.
func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	root := t.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite", filepath.Join(root, "skiff.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := content.Open(filepath.Join(root, "content"))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := layer.Open(filepath.Join(root, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	images, err := image.New(image.Config{DB: db, Content: cs, Layers: ls, TmpDir: filepath.Join(root, "tmp")})
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := image.ParseTag("busybox:latest")
	if _, err := images.Import(ctx, bytes.NewReader(testimage.Rootfs(t)), image.ImportOptions{Source: "-", Tag: tag}); err != nil {
		t.Fatal(err)
	}
	bus := events.NewBus()
	s, err := New(Config{DB: db, Images: images, Events: bus, Root: filepath.Join(root, "containers"), VolumesRoot: filepath.Join(root, "volumes")})
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{Service: s, images: images, bus: bus, root: root}
	t.Cleanup(func() {
		// Every container goes, even when the test failed half-way.
		list, _ := s.List(context.Background(), ListOptions{All: true})
		for _, c := range list {
			s.Remove(context.Background(), c.ID, RemoveOptions{Force: true, Volumes: true})
		}
		db.Close()
	})
	return e
}

func (e *testEnv) create(t *testing.T, cfg *containertypes.Config, hc *containertypes.HostConfig) *Container {
	t.Helper()
	if cfg.Image == "" {
		cfg.Image = "busybox"
	}
	c, _, err := e.Create(context.Background(), CreateOptions{Config: cfg, HostConfig: hc})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run starts a container with the command and returns its exit code and
// what it wrote, read from its log.
func (e *testEnv) run(t *testing.T, cmd ...string) (int, string) {
	t.Helper()
	c := e.create(t, &containertypes.Config{Cmd: cmd}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	res, err := e.Wait(ctx, c.ID, WaitNotRunning, func() {})
	if err != nil {
		t.Fatal(err)
	}
	return res.ExitCode, e.logText(t, c.ID)
}

func (e *testEnv) logText(t *testing.T, id string) string {
	t.Helper()
	var out strings.Builder
	_, err := e.Logs(context.Background(), id, LogOptions{Tail: -1, Stdout: true, Stderr: true}, func(en logfile.Entry) error {
		out.Write(en.Line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestRunPrintsOutputAndKeepsTheStoppedContainer(t *testing.T) {
	e := newTestEnv(t)
	code, out := e.run(t, "echo", "hello world")
	if code != 0 || out != "hello world\n" {
		t.Fatalf("exit %d, output %q", code, out)
	}
	list, err := e.List(context.Background(), ListOptions{All: true})
	if err != nil || len(list) != 1 {
		t.Fatalf("ps -a = %d containers, %v", len(list), err)
	}
	c := list[0]
	if c.State.Status != containertypes.StateExited || !strings.HasPrefix(c.Status(time.Now()), "Exited (0) ") {
		t.Errorf("state %q, status %q", c.State.Status, c.Status(time.Now()))
	}
	if running, _ := e.List(context.Background(), ListOptions{}); len(running) != 0 {
		t.Errorf("ps without -a lists %d stopped containers", len(running))
	}
	if !strings.Contains(c.Name, "_") {
		t.Errorf("generated name %q is not adjective_noun", c.Name)
	}
}

func TestExitCodesAndStartAgain(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.create(t, &containertypes.Config{Cmd: []string{"sh", "-c", "echo run; exit 3"}}, nil)
	for range 2 { // start -i re-runs a stopped container
		if err := e.Start(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		res, err := e.Wait(ctx, c.ID, WaitNotRunning, func() {})
		if err != nil || res.ExitCode != 3 {
			t.Fatalf("wait = %+v, %v", res, err)
		}
	}
	if out := e.logText(t, c.ID); out != "run\nrun\n" {
		t.Errorf("log after two runs: %q", out)
	}
}

func TestStartErrorsAreClear(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.create(t, &containertypes.Config{Cmd: []string{"nosuchcommand"}}, nil)
	err := e.Start(ctx, c.ID)
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "executable file not found") {
		t.Fatalf("start of a missing command: %v", err)
	}
	got, _ := e.Inspect(ctx, c.ID)
	if got.State.ExitCode != 127 || got.State.Running() {
		t.Errorf("state after a failed start: %+v", got.State)
	}
	if _, _, err := e.Create(ctx, CreateOptions{Config: &containertypes.Config{Image: "nosuch", Cmd: []string{"true"}}}); !errdefs.IsNotFound(err) || err.Error() != "No such image: nosuch:latest" {
		t.Errorf("create from an unknown image: %v", err)
	}
}

func TestStopKillRestartAndRemove(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	// PID 1 of a namespace gets only the signals it handles: the trap makes
	// SIGTERM end it, as a well-behaved server does.
	c := e.create(t, &containertypes.Config{Cmd: []string{"sh", "-c", "trap 'exit 143' TERM; touch /trapped; sleep 600 & wait"}}, nil)
	if err := e.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	// A SIGTERM before the shell set its trap would kill it at once: wait
	// for the trap.
	trapped := filepath.Join(e.root, "containers", c.ID, "upper", "trapped")
	waitFor(t, "the shell's trap", func() bool { _, err := os.Stat(trapped); return err == nil })
	if err := e.Start(ctx, c.ID); !errdefs.IsNotModified(err) {
		t.Errorf("second start: %v", err)
	}
	if err := e.Remove(ctx, c.ID, RemoveOptions{}); !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "container is running") {
		t.Errorf("rm of a running container: %v", err)
	}
	timeout := 1
	start := time.Now()
	if err := e.Stop(ctx, c.ID, StopOptions{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	got, _ := e.Inspect(ctx, c.ID)
	if got.State.ExitCode != 143 || time.Since(start) > 5*time.Second {
		t.Errorf("after stop: exit %d after %v", got.State.ExitCode, time.Since(start))
	}
	if err := e.Stop(ctx, c.ID, StopOptions{}); !errdefs.IsNotModified(err) {
		t.Errorf("stop of a stopped container: %v", err)
	}
	if err := e.Restart(ctx, c.ID, StopOptions{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Inspect(ctx, c.ID); !got.State.Running() {
		t.Fatalf("not running after restart: %+v", got.State)
	}
	if err := e.Kill(ctx, c.ID, "KILL"); err != nil {
		t.Fatal(err)
	}
	if res, _ := e.Wait(ctx, c.ID, WaitNotRunning, func() {}); res.ExitCode != 137 {
		t.Errorf("after kill: exit %d, want 137", res.ExitCode)
	}
	if err := e.Kill(ctx, c.ID, ""); !errdefs.IsConflict(err) {
		t.Errorf("kill of a stopped container: %v", err)
	}
	if err := e.Remove(ctx, c.ID, RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(e.stateDir(c.ID)); !os.IsNotExist(err) {
		t.Errorf("state dir left: %v", err)
	}
	if _, err := e.Inspect(ctx, c.ID); !errdefs.IsNotFound(err) {
		t.Errorf("inspect after rm: %v", err)
	}
}

func TestAttachBeforeStartSeesAllOutput(t *testing.T) {
	e := newTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := e.create(t, &containertypes.Config{Cmd: []string{"sh", "-c", "echo out; echo err >&2"}, AttachStdout: true, AttachStderr: true}, nil)
	streamc := make(chan *Stream, 1)
	go func() {
		s, err := e.Attach(ctx, c.ID, AttachOptions{Stdout: true, Stderr: true})
		if err != nil {
			t.Error(err)
		}
		streamc <- s
	}()
	time.Sleep(50 * time.Millisecond) // docker run attaches, then starts
	if err := e.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	s := <-streamc
	if s == nil {
		return
	}
	data, _ := io.ReadAll(s)
	s.Close()
	stdout, stderr := demux(t, data)
	if stdout != "out\n" || stderr != "err\n" {
		t.Errorf("attach got stdout %q, stderr %q", stdout, stderr)
	}
}

// Stream is the monitor's stream type, named here for the test.
type Stream = monitor.Stream

func demux(t *testing.T, data []byte) (string, string) {
	t.Helper()
	var out, errOut strings.Builder
	for len(data) >= 8 {
		n := int(binary.BigEndian.Uint32(data[4:8]))
		if len(data) < 8+n {
			t.Fatalf("short frame")
		}
		switch data[0] {
		case 1:
			out.Write(data[8 : 8+n])
		case 2:
			errOut.Write(data[8 : 8+n])
		}
		data = data[8+n:]
	}
	return out.String(), errOut.String()
}

func TestExecSeesTheContainer(t *testing.T) {
	e := newTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := e.create(t, &containertypes.Config{Cmd: []string{"sh", "-c", "echo inside > /marker; sleep 600"}, Hostname: "box"}, nil)
	if err := e.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	id, err := e.CreateExec(ctx, c.ID, ExecOptions{Cmd: []string{"sh", "-c", "cat /marker; hostname; cat /proc/1/cmdline | tr '\\0' ' '; exit 5"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.StartExec(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(s)
	code, err := e.FinishExec(ctx, id)
	if err != nil || code != 5 {
		t.Fatalf("exec exit %d, %v", code, err)
	}
	out, _ := demux(t, data)
	// The shell execs its last command, so PID 1 is sleep.
	if out != "inside\nbox\nsleep 600 " {
		t.Errorf("exec saw %q: not the container's own filesystem, hostname and PID 1", out)
	}
	ex, _ := e.InspectExec(ctx, id)
	if ex.Running || ex.ExitCode == nil || *ex.ExitCode != 5 {
		t.Errorf("exec inspect = %+v", ex)
	}
}

func TestRemoveAutoRemoveAndEvents(t *testing.T) {
	e := newTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, sub := e.bus.Subscribe(time.Time{})
	defer sub.Close()
	c := e.create(t, &containertypes.Config{Cmd: []string{"true"}}, &containertypes.HostConfig{AutoRemove: true})
	done := make(chan WaitResult, 1)
	go func() {
		res, _ := e.Wait(ctx, c.ID, WaitRemoved, func() {})
		done <- res
	}()
	time.Sleep(20 * time.Millisecond)
	if err := e.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if res.ExitCode != 0 {
			t.Errorf("exit %d", res.ExitCode)
		}
	case <-ctx.Done():
		t.Fatal("--rm container was not removed")
	}
	var actions []string
	for len(actions) < 4 {
		select {
		case ev := <-sub.C:
			actions = append(actions, ev.Action)
		case <-ctx.Done():
			t.Fatalf("events so far: %v", actions)
		}
	}
	if strings.Join(actions, ",") != "create,start,die,destroy" {
		t.Errorf("events %v, want create,start,die,destroy", actions)
	}
}

// waitFor polls cond until it holds, failing the test after a generous
// bound (a guard against a hang, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// A kill answers once the container has died of it, even when the
// container's exit is handled (and its monitor's client closed) before the
// monitor's answer to the signal arrives.
func TestKillSucceedsAsTheContainerDies(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	for i := range 10 {
		c := e.create(t, &containertypes.Config{Cmd: []string{"sleep", "100"}}, nil)
		if err := e.Start(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.Kill(ctx, c.ID, "SIGKILL"); err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		got, err := e.Inspect(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State.Running() || got.State.ExitCode != 137 {
			t.Fatalf("after kill %d: running %v, exit code %d; want exited 137", i, got.State.Running(), got.State.ExitCode)
		}
	}
}
