package container

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	containertypes "github.com/moby/moby/api/types/container"

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

// A daemon stopped between a removal's record and its files leaves the
// container's directory behind: the next start removes it, and nothing
// else in the containers' directory.
func TestRestoreRemovesTheFilesOfRemovedContainers(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	kept := e.create(t, &containertypes.Config{Cmd: []string{"true"}}, nil)
	removed := e.create(t, &containertypes.Config{Cmd: []string{"true"}}, nil)
	removedDir := e.stateDir(removed.ID)
	// What the removal had done when the daemon stopped: the record gone,
	// the files not yet.
	if err := e.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM containers WHERE id = ?`, removed.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(e.Service.root, "not-a-container")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}

	if err := e.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(removedDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the removed container's directory is still there: %v", err)
	}
	for _, dir := range []string{e.stateDir(kept.ID), other} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
	}
}

func TestRestoreRemovesRmContainersThatRan(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	rm := &containertypes.HostConfig{AutoRemove: true}
	ran := e.create(t, &containertypes.Config{Cmd: []string{"true"}}, rm)
	neverStarted := e.create(t, &containertypes.Config{Cmd: []string{"true"}}, rm)
	kept := e.create(t, &containertypes.Config{Cmd: []string{"true"}}, nil)
	// What an --rm container looks like whose exit the daemon missed, or
	// whose removal a power loss undid: stopped, having run.
	for _, c := range []*Container{ran, kept} {
		c.State.Status = containertypes.StateExited
		c.State.StartedAt = time.Now().Add(-time.Second)
		c.State.FinishedAt = time.Now()
		if err := e.saveState(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	ranDir := e.stateDir(ran.ID)

	if err := e.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Inspect(ctx, ran.ID); !errdefs.IsNotFound(err) {
		t.Errorf("the --rm container that ran is still there: %v", err)
	}
	if _, err := os.Stat(ranDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("its directory is still there: %v", err)
	}
	for _, c := range []*Container{neverStarted, kept} {
		if _, err := e.Inspect(ctx, c.ID); err != nil {
			t.Errorf("%s was removed: %v", c.Name, err)
		}
	}
}
