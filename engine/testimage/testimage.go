// Package testimage builds the root filesystem tarball every skiff test uses:
// busybox from Debian's busybox-static package (installed by the test setup,
// .ci/run), with a symlink per applet, /etc/passwd, /etc/group and the usual
// top-level directories. It is small (about 2 MB), needs no network and runs
// anything a test wants through /bin/sh.
package testimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// BusyboxPath is where Debian's busybox-static installs the binary.
const BusyboxPath = "/bin/busybox"

// Epoch is the modification time of every entry, so the tarball (and the
// image ID of anything imported from it) is the same on every run.
var Epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const passwd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
`

const group = `root:x:0:
daemon:x:1:
nogroup:x:65534:
app:x:1000:
`

var (
	once    sync.Once
	rootfs  []byte
	loadErr error
)

// Rootfs returns the busybox root filesystem as an uncompressed tar. It fails
// the test if busybox-static is not installed: the test setup installs it,
// so a missing binary is a broken setup, not a reason to skip.
func Rootfs(t testing.TB) []byte {
	t.Helper()
	once.Do(func() { rootfs, loadErr = build() })
	if loadErr != nil {
		t.Fatalf("build busybox rootfs (install Debian's busybox-static: apt-get install busybox-static): %v", loadErr)
	}
	return rootfs
}

// WriteRootfs writes the tarball into dir and returns its path.
func WriteRootfs(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "busybox-rootfs.tar")
	if err := os.WriteFile(p, Rootfs(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func build() ([]byte, error) {
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, dir := range []string{"bin", "dev", "etc", "home", "home/app", "proc", "root", "sys", "tmp", "usr", "usr/bin", "usr/sbin", "var", "var/log"} {
		mode := int64(0o755)
		switch dir {
		case "tmp":
			mode = 0o1777
		case "root":
			mode = 0o700
		}
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: mode, ModTime: Epoch}
		if dir == "home/app" {
			hdr.Uid, hdr.Gid = 1000, 1000
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
	}
	if err := writeFile(tw, "bin/busybox", bin, 0o755); err != nil {
		return nil, err
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" || strings.ContainsAny(applet, "/[") {
			continue
		}
		hdr := &tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777, ModTime: Epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
	}
	files := map[string]string{
		"etc/passwd":   passwd,
		"etc/group":    group,
		"etc/hostname": "busybox\n",
		"etc/hosts":    "127.0.0.1\tlocalhost\n",
	}
	for _, name := range []string{"etc/group", "etc/hostname", "etc/hosts", "etc/passwd"} {
		if err := writeFile(tw, name, []byte(files[name]), 0o644); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeFile(tw *tar.Writer, name string, data []byte, mode int64) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(data)), Mode: mode, ModTime: Epoch}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}
