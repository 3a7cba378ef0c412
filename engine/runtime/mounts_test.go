package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBindMounts(t *testing.T) {
	host := t.TempDir()
	hostname := filepath.Join(host, "hostname")
	writeFile(t, hostname, "from-the-host\n")
	ro := mkdir(t, host, "ro")
	writeFile(t, filepath.Join(ro, "file"), "read me\n")
	rw := mkdir(t, host, "rw")

	spec := sh(t, `cat /etc/hostname /data/ro/file
(touch /data/ro/new) 2>&1
touch /data/rw/new && echo rw-ok
cat /deep/new/dir/hostname
grep -E ' /data/ro | /data/rw ' /proc/mounts | cut -d' ' -f2,4 | cut -d, -f1`)
	spec.Mounts = []Mount{
		{Source: hostname, Destination: "/etc/hostname"},
		{Source: ro, Destination: "/data/ro", ReadOnly: true},
		{Source: rw, Destination: "/data/rw"},
		{Source: hostname, Destination: "/deep/new/dir/hostname"}, // missing: created as a file
	}
	equals(strings.Join([]string{
		"from-the-host", "read me",
		"touch: /data/ro/new: Read-only file system",
		"rw-ok",
		"from-the-host",
		"/data/ro ro", "/data/rw rw",
	}, "\n"))(t, runOK(t, spec))
	if _, err := os.Stat(filepath.Join(ro, "new")); err == nil {
		t.Error("a file was created through the read-only bind")
	}
	if _, err := os.Stat(filepath.Join(rw, "new")); err != nil {
		t.Errorf("the read-write bind did not reach the host: %v", err)
	}
}

// A mount destination that is a symlink in the image pointing out of the
// rootfs, or that climbs with "..", resolves inside the rootfs
// (CVE-2014-9356, CVE-2021-30465): the host is untouched.
func TestBindMountDestinationStaysInRoot(t *testing.T) {
	hostTarget := t.TempDir() // what the image's symlink points to
	source := t.TempDir()
	writeFile(t, filepath.Join(source, "marker"), "inside\n")

	spec := sh(t, "cat /evil/marker /up/marker "+hostTarget+"/sub/marker")
	if err := os.Symlink("/../../.."+hostTarget+"/sub", filepath.Join(spec.Root.UpperDir, "evil")); err != nil {
		t.Fatal(err)
	}
	spec.Mounts = []Mount{
		{Source: source, Destination: "/evil"},
		{Source: source, Destination: "/../../../up"},
	}
	equals("inside\ninside\ninside")(t, runOK(t, spec))

	if entries, _ := os.ReadDir(hostTarget); len(entries) != 0 {
		t.Errorf("the host directory the symlink points to was written: %v", entries)
	}
	// Created in the container's own layer instead.
	if fi, err := os.Stat(filepath.Join(spec.Root.UpperDir, hostTarget, "sub")); err != nil || !fi.IsDir() {
		t.Errorf("the destination was not created inside the rootfs: %v", err)
	}
}

func TestBindMountIntoProcRefused(t *testing.T) {
	for _, dest := range []string{"/proc", "/proc/sys/kernel", "/viaLink"} {
		t.Run(dest, func(t *testing.T) {
			spec := newSpec(t, "true")
			if err := os.Symlink("/proc/sys", filepath.Join(spec.Root.UpperDir, "viaLink")); err != nil {
				t.Fatal(err)
			}
			spec.Mounts = []Mount{{Source: t.TempDir(), Destination: dest}}
			if _, err := tryStart(t, spec, Hooks{}); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "in /proc or /sys") {
				t.Fatalf("Start: %v; want the mount refused", err)
			}
		})
	}
}

// CVE-2019-16884, CVE-2023-27561: /proc or /sys replaced by a symlink in
// the image must not redirect the procfs mount.
func TestProcSymlinkRefused(t *testing.T) {
	for _, dir := range []string{"proc", "sys", "dev"} {
		t.Run(dir, func(t *testing.T) {
			spec := newSpec(t, "true")
			// In the upper layer, the symlink hides the image's directory.
			if err := os.Symlink("/tmp", filepath.Join(spec.Root.UpperDir, dir)); err != nil {
				t.Fatal(err)
			}
			_, err := tryStart(t, spec, Hooks{})
			want := "/" + dir + " must be a directory in the image, not a symlink or a file"
			if !errdefs.IsInvalidArgument(err) || err.Error() != want {
				t.Fatalf("Start: %v; want %q", err, want)
			}
		})
	}
}

// CVE-2025-31133: masking binds the container's /dev/null over files; if
// something else sits there, masking must fail rather than bind it.
func TestHostileDevNull(t *testing.T) {
	spec := newSpec(t, "true")
	fake := filepath.Join(t.TempDir(), "fake-null")
	writeFile(t, fake, "not the null device\n")
	spec.Mounts = []Mount{{Source: fake, Destination: "/dev/null"}}
	_, err := tryStart(t, spec, Hooks{})
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "/dev/null is not the null device") {
		t.Fatalf("Start: %v; want masking refused", err)
	}
}

func TestNoLayers(t *testing.T) {
	// A scratch image: the upper directory is the whole rootfs.
	spec := newSpec(t, "/bin/busybox", "cat", "/only-file")
	lower := spec.Root.LowerDirs[0]
	if err := os.Rename(lower, spec.Root.UpperDir); err != nil {
		if err := os.RemoveAll(spec.Root.UpperDir); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(lower, spec.Root.UpperDir); err != nil {
			t.Fatal(err)
		}
	}
	spec.Root.LowerDirs = nil
	writeFile(t, filepath.Join(spec.Root.UpperDir, "only-file"), "scratch\n")
	equals("scratch")(t, runOK(t, spec))
}

func TestRootfsErrors(t *testing.T) {
	spec := newSpec(t, "true")
	spec.Root.WorkDir = "/proc" // not on the upper directory's filesystem
	_, err := tryStart(t, spec, Hooks{})
	if err == nil || !strings.Contains(err.Error(), "create overlay on "+spec.Root.UpperDir) {
		t.Fatalf("Start: %v", err)
	}

	spec = newSpec(t, "true")
	spec.Root.LowerDirs = append(spec.Root.LowerDirs, "/nonexistent")
	if _, err := tryStart(t, spec, Hooks{}); err == nil || !strings.Contains(err.Error(), "overlay lowerdir+=/nonexistent") {
		t.Fatalf("Start: %v", err)
	}
}
