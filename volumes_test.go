package main

// Volumes as a user checks them: a host directory bound with -v (and :ro),
// a named volume that outlives its containers, docker volume ls/inspect/rm,
// the anonymous volume of an image's VOLUME removed by rm -v, and a -v
// target that is a symlink pointing out of the rootfs.

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVolumes(t *testing.T) {
	d := withBusybox(t)
	t.Cleanup(func() { checkNoLeftovers(t, d) })

	t.Run("-v /hostdir:/data: written inside, visible on the host", func(t *testing.T) {
		t.Parallel()
		host := t.TempDir()
		os.WriteFile(filepath.Join(host, "from-host"), []byte("hello from the host\n"), 0o644)
		out := mustSucceed(t, "run -v", d.docker("run", "--rm", "-v", host+":/data", "busybox", "sh", "-c",
			"cat /data/from-host; echo written inside > /data/from-container"))
		if out != "hello from the host\n" {
			t.Errorf("the container read %q", out)
		}
		if b, _ := os.ReadFile(filepath.Join(host, "from-container")); string(b) != "written inside\n" {
			t.Errorf("on the host: %q", b)
		}
	})

	t.Run("-v /hostdir:/data:ro refuses writes", func(t *testing.T) {
		t.Parallel()
		host := t.TempDir()
		r := d.docker("run", "--rm", "-v", host+":/data:ro", "busybox", "sh", "-c", "ls /data && echo x > /data/f")
		if r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
			t.Errorf("write to a :ro bind: exit %d, stderr %q", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(host, "f")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the file was written on the host")
		}
		mounts := mustSucceed(t, "run", d.docker("run", "--rm", "-v", host+":/data:ro", "busybox", "grep", " /data ", "/proc/mounts"))
		if !strings.Contains(mounts, " ro,") {
			t.Errorf("/data is not mounted read-only: %q", mounts)
		}
	})

	t.Run("a named volume persists across containers; volume ls, inspect, rm", func(t *testing.T) {
		t.Parallel()
		mustSucceed(t, "write", d.docker("run", "--rm", "-v", "keep:/data", "busybox", "sh", "-c", "echo persisted > /data/f"))
		if out := mustSucceed(t, "read", d.docker("run", "--rm", "-v", "keep:/data:ro", "busybox", "cat", "/data/f")); out != "persisted\n" {
			t.Errorf("the second container read %q", out)
		}
		if out := mustSucceed(t, "volume ls", d.docker("volume", "ls", "--filter", "name=keep")); out != "DRIVER    VOLUME NAME\nlocal     keep\n" {
			t.Errorf("docker volume ls:\n%s", out)
		}
		var vols []struct {
			Name, Driver, Mountpoint, Scope string
		}
		if err := json.Unmarshal([]byte(mustSucceed(t, "volume inspect", d.docker("volume", "inspect", "keep"))), &vols); err != nil {
			t.Fatal(err)
		}
		if len(vols) != 1 || vols[0].Name != "keep" || vols[0].Driver != "local" || vols[0].Scope != "local" ||
			vols[0].Mountpoint != filepath.Join(d.root, "volumes", "keep", "_data") {
			t.Errorf("docker volume inspect: %+v", vols)
		}
		if b, _ := os.ReadFile(filepath.Join(vols[0].Mountpoint, "f")); string(b) != "persisted\n" {
			t.Errorf("the volume's directory holds %q", b)
		}

		id := strings.TrimSpace(mustSucceed(t, "run -d", d.docker("run", "-d", "-v", "keep:/data", "busybox", "sleep", "1000")))
		mounts := inspect(t, d, `{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.RW}}{{end}}`, id)
		if mounts != "volume keep /data true" {
			t.Errorf("docker inspect .Mounts: %q", mounts)
		}
		r := d.docker("volume", "rm", "keep")
		if want := "Error response from daemon: remove keep: volume is in use - [" + id + "]\n"; r.code != 1 || r.stderr != want {
			t.Errorf("docker volume rm of a volume in use: exit %d, stderr %q; want %q", r.code, r.stderr, want)
		}
		mustSucceed(t, "rm -f", d.docker("rm", "-f", id))
		if out := mustSucceed(t, "volume rm", d.docker("volume", "rm", "keep")); out != "keep\n" {
			t.Errorf("docker volume rm printed %q", out)
		}
		if _, err := os.Stat(vols[0].Mountpoint); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the volume's directory is left: %v", err)
		}
		if r := d.docker("volume", "inspect", "keep"); r.code != 1 || !strings.Contains(r.stderr, "no such volume") {
			t.Errorf("inspect of a removed volume: exit %d, %q", r.code, r.stderr)
		}
	})

	t.Run("an image's VOLUME gets an anonymous volume that rm -v removes", func(t *testing.T) {
		t.Parallel()
		d.importImage(t, "withvolume:v1", nil, "VOLUME /vol")
		mustSucceed(t, "run", d.docker("run", "--name", "anon", "withvolume:v1", "sh", "-c", "echo data > /vol/f"))
		mounts := inspect(t, d, `{{range .Mounts}}{{.Type}} {{.Name}} {{.Source}} {{.Destination}}{{end}}`, "anon")
		f := strings.Fields(mounts)
		if len(f) != 4 || f[0] != "volume" || len(f[1]) != 64 || f[2] != filepath.Join(d.root, "volumes", f[1], "_data") || f[3] != "/vol" {
			t.Fatalf("docker inspect .Mounts of the anonymous volume: %q", mounts)
		}
		if b, _ := os.ReadFile(filepath.Join(f[2], "f")); string(b) != "data\n" {
			t.Errorf("the anonymous volume holds %q", b)
		}
		if out := mustSucceed(t, "volume ls", d.docker("volume", "ls", "-q")); !strings.Contains(out, f[1]+"\n") {
			t.Errorf("docker volume ls -q lacks %s:\n%s", f[1], out)
		}
		mustSucceed(t, "rm -v", d.docker("rm", "-v", "anon"))
		if out := mustSucceed(t, "volume ls", d.docker("volume", "ls", "-q")); strings.Contains(out, f[1]) {
			t.Errorf("rm -v left the anonymous volume %s", f[1])
		}
		if _, err := os.Stat(f[2]); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("rm -v left the volume's directory")
		}
	})

	t.Run("a -v target that is a symlink out of the rootfs resolves inside it", func(t *testing.T) {
		t.Parallel()
		victim, victim2 := t.TempDir(), t.TempDir()
		os.WriteFile(filepath.Join(victim, "keep"), []byte("untouched\n"), 0o644)
		source := t.TempDir()
		os.WriteFile(filepath.Join(source, "payload"), []byte("payload\n"), 0o644)
		d.importImage(t, "evil:v1", []tar.Header{
			{Name: "evil", Typeflag: tar.TypeSymlink, Linkname: "/../../../" + strings.TrimPrefix(victim, "/")},
			{Name: "evil2", Typeflag: tar.TypeSymlink, Linkname: "../../../../../../" + strings.TrimPrefix(victim2, "/") + "/sub"},
		})
		out := mustSucceed(t, "run", d.docker("run", "--rm", "-v", source+":/evil", "evil:v1", "sh", "-c",
			"ls "+victim+"; echo from-container > /evil/written"))
		if out != "payload\n" {
			t.Errorf("inside the container, %s holds:\n%s", victim, out)
		}
		out = mustSucceed(t, "run", d.docker("run", "--rm", "-v", source+":/evil2/x:ro", "evil:v1", "ls", victim2+"/sub/x"))
		if out != "payload\nwritten\n" {
			t.Errorf("inside the container, %s/sub/x holds:\n%s", victim2, out)
		}
		for dir, want := range map[string][]string{victim: {"keep"}, victim2: nil} {
			var names []string
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if strings.Join(names, ",") != strings.Join(want, ",") {
				t.Errorf("the host directory %s, where a symlink points, was touched: %v", dir, names)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(source, "written")); string(b) != "from-container\n" {
			t.Errorf("the bind's source got %q", b)
		}
	})
}
