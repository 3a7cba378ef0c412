package runtime

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// CVE-2019-5736. A role process must not run from a file the container
// could write: through /proc/<pid>/exe it can reach whatever the role was
// executed from. Both ways of sealing are checked while a role runs (in the
// Created hook, the init is waiting), and the host's binary must be
// unchanged afterwards.
func TestSealedExe(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	before := fileHash(t, self)
	sealers := map[string]struct {
		seal  func() (*os.File, error)
		check func(t *testing.T, exe *os.File)
	}{
		"overlayfs": {overlayExe, func(t *testing.T, exe *os.File) {
			var fs unix.Statfs_t
			if err := unix.Fstatfs(int(exe.Fd()), &fs); err != nil {
				t.Fatal(err)
			}
			if fs.Type != unix.OVERLAYFS_SUPER_MAGIC || fs.Flags&unix.ST_RDONLY == 0 {
				t.Errorf("the init's binary is on filesystem %#x, flags %#x: want a read-only overlayfs", fs.Type, fs.Flags)
			}
		}},
		"memfd": {memfdExe, func(t *testing.T, exe *os.File) {
			const all = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
			seals, err := unix.FcntlInt(exe.Fd(), unix.F_GET_SEALS, 0)
			if err != nil || seals&all != all {
				t.Errorf("the init's binary has seals %#x (%v), want %#x", seals, err, all)
			}
			if _, err := exe.WriteAt([]byte("x"), 0); err == nil {
				t.Error("wrote to the sealed memfd")
			}
		}},
	}
	for name, s := range sealers {
		t.Run(name, func(t *testing.T) {
			exe, err := s.seal()
			if err != nil {
				t.Fatal(err)
			}
			defer exe.Close()
			exe, err = aboveFD(exe, minExeFD)
			if err != nil {
				t.Fatal(err)
			}
			defer exe.Close()
			spec := newSpec(t, "true")
			hooks := Hooks{Created: func(pid int) error {
				path := filepath.Join("/proc", strconv.Itoa(pid), "exe")
				if link, _ := os.Readlink(path); name == "memfd" && !strings.HasPrefix(link, "/memfd:") {
					t.Errorf("the init runs from %q, want a memfd", link)
				}
				if _, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
					t.Error("the init's binary opens for writing")
				} else if !errors.Is(err, unix.EROFS) && !errors.Is(err, unix.ETXTBSY) && !errors.Is(err, unix.EPERM) {
					t.Errorf("open the init's binary for writing: %v", err)
				}
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				defer f.Close()
				s.check(t, f)
				return nil
			}}
			task, err := startWith(t, func(stdio Stdio) (*Task, error) {
				return launch(testContext(t), exe, role{name: roleInit, spec: spec, cloneflags: initCloneflags(spec.Network)}, stdio, hooks)
			})
			if err != nil {
				t.Fatal(err)
			}
			if r := task.wait(t); r.status.Code != 0 {
				t.Fatalf("exit %+v: %s", r.status, r.stderr)
			}
		})
	}
	if after := fileHash(t, self); !bytes.Equal(before, after) {
		t.Error("the test binary changed")
	}
}

// From inside, a container sees no runtime binary to write either: its
// PID 1 is its own process, and the exec-init of a concurrent exec cannot
// be inspected (it is not dumpable and holds more capabilities).
func TestSealedExeFromInside(t *testing.T) {
	spec, c := runningContainer(t)
	es := execSpec(c, spec, "sh", "-c", "for p in /proc/[0-9]*; do (echo x >> $p/exe) 2>/dev/null && echo wrote $p; done; echo done")
	equals("done")(t, execOK(t, es))
}

func fileHash(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return h[:]
}

func TestSealedExeIsCached(t *testing.T) {
	a, err := sealedExe()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := sealedExe()
	if a != b || a.Fd() < minExeFD {
		t.Errorf("sealedExe: %v (fd %d) then %v", a, a.Fd(), b)
	}
	// The memfd copy is only a fallback for older kernels: on this one
	// (Linux ≥ 6.13) the free overlayfs view must be what is used.
	var fs unix.Statfs_t
	if err := unix.Fstatfs(int(a.Fd()), &fs); err != nil || fs.Type != unix.OVERLAYFS_SUPER_MAGIC {
		_, oerr := overlayExe()
		t.Errorf("sealedExe fell back to %s: the overlayfs view failed: %v", a.Name(), oerr)
	}
}
