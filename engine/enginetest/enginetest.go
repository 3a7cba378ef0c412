// Package enginetest holds what tests of packages built on the engine
// share: an engine on a data root of the test's own, and running a
// command in a container of it.
package enginetest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	containertypes "github.com/moby/moby/api/types/container"

	"github.com/skiff-dev/skiff/engine"
)

// migrations is the schema's directory, found from this file's place in
// the repository so that a test in any package can open an engine.
func migrations(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("enginetest: cannot find the migrations directory")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "migrations")
}

// Open opens an engine on an empty data root of the test's own. At the end
// every container goes, with its volumes, even when the test failed
// half-way, and the engine is closed.
func Open(t testing.TB) *engine.Engine {
	t.Helper()
	e, err := engine.Open(context.Background(), engine.Config{DataRoot: t.TempDir(), Migrations: os.DirFS(migrations(t)), SQLDriver: "sqlite"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		list, _ := e.ContainerList(context.Background(), engine.ContainerListOptions{All: true})
		for _, c := range list {
			e.ContainerRemove(context.Background(), c.ID, engine.ContainerRemoveOptions{Force: true, Volumes: true})
		}
		e.Close()
	})
	return e
}

// Run runs cmd (not through the image's entrypoint) in a container of
// image, waits for its end and returns what it wrote, read from its log.
func Run(t testing.TB, e *engine.Engine, image string, cmd ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, _, err := e.ContainerCreate(ctx, engine.ContainerCreateOptions{
		Config:     &containertypes.Config{Image: image, Cmd: cmd, Entrypoint: []string{""}},
		HostConfig: &containertypes.HostConfig{},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.ContainerRemove(context.Background(), c.ID, engine.ContainerRemoveOptions{Force: true})
	if err := e.ContainerStart(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ContainerWait(ctx, c.ID, "not-running", func() {}); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if _, err := e.ContainerLogs(ctx, c.ID, engine.ContainerLogOptions{Tail: -1, Stdout: true, Stderr: true}, func(l engine.LogEntry) error {
		out.Write(l.Line)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// OpenRoot is Open, also returning the engine's data root, for tests that
// look at the files the engine keeps.
func OpenRoot(t testing.TB) (*engine.Engine, string) {
	t.Helper()
	root := t.TempDir()
	e, err := engine.Open(context.Background(), engine.Config{DataRoot: root, Migrations: os.DirFS(migrations(t)), SQLDriver: "sqlite"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, root
}
