package runtime

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// prestart starts an init ahead and makes sure it is gone when t ends.
func prestart(t *testing.T) *Prestarted {
	t.Helper()
	p, err := Prestart()
	if err != nil {
		t.Fatalf("Prestart: %v", err)
	}
	t.Cleanup(func() { p.Discard() })
	return p
}

// A prestarted init runs the container it is given, with the stdio that
// comes with the spec, as an init started for it would: the same pid
// answers, and the hook sees it.
//
// It serves only if the host's mount table did not change since it was
// born, and other packages' tests mount beside this one: an attempt whose
// container got a new init counts only if the table stayed the same.
func TestPrestartedRunsTheContainer(t *testing.T) {
	for attempt := 1; ; attempt++ {
		mounts := watchMounts(t) // before the init is born
		p := prestart(t)
		pid := p.rp.proc.Pid
		var hookPid int
		hooks := Hooks{Created: func(pid int) error { hookPid = pid; return nil }}
		s, err := startWith(t, func(stdio Stdio) (*Task, error) {
			return p.Start(testContext(t), sh(t, "echo out; echo err >&2; hostname; exit 4"), stdio, hooks)
		})
		if err != nil {
			t.Fatal(err)
		}
		r := s.wait(t)
		if r.stdout != "out\n"+testHostname+"\n" || r.stderr != "err\n" || r.status.Code != 4 {
			t.Errorf("got stdout %q, stderr %q, %+v", r.stdout, r.stderr, r.status)
		}
		if s.Pid() != pid && mounts.changed() && attempt < 10 {
			t.Logf("attempt %d: the host's mount table changed meanwhile, and the container rightly got a new init; again", attempt)
			continue
		}
		if s.Pid() != pid || hookPid != pid {
			t.Errorf("the container ran as %d (hook: %d), not in the prestarted init %d", s.Pid(), hookPid, pid)
		}
		return
	}
}

// mountWatch tells whether the mount table changed since it was opened,
// as Prestarted does.
type mountWatch struct{ fd int }

func watchMounts(t *testing.T) mountWatch {
	t.Helper()
	fd, err := unix.Open("/proc/self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return mountWatch{fd}
}

func (w mountWatch) changed() bool {
	n, err := unix.Poll([]unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLPRI}}, 0)
	return err != nil || n > 0
}

// Its setup errors keep their class, as Start's.
func TestPrestartedCommandNotFound(t *testing.T) {
	p := prestart(t)
	_, err := tryStartWith(t, p, newSpec(t, "nosuch"))
	if want := `exec: "nosuch": executable file not found in $PATH`; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// A container that needs other namespaces (here the host's network) gets an
// init of its own, and the prestarted one is reaped.
func TestPrestartedDiscardedForOtherNamespaces(t *testing.T) {
	p := prestart(t)
	pid := p.rp.proc.Pid
	spec := sh(t, "readlink /proc/1/ns/net")
	spec.Network = "host"
	s, err := tryStartWith(t, p, spec)
	if err != nil {
		t.Fatal(err)
	}
	r := s.wait(t)
	host, _ := os.Readlink("/proc/self/ns/net")
	if s.Pid() == pid || r.stdout != host+"\n" {
		t.Errorf("ran as %d (prestarted: %d) in network %q, want a new init in the host's %q", s.Pid(), pid, r.stdout, host)
	}
	assertReaped(t, pid)
}

// After a change to the host's mount table, the init's copy of it is out
// of date: the container gets a new init, which sees the new mount.
func TestPrestartedDiscardedAfterMountChange(t *testing.T) {
	p := prestart(t)
	pid := p.rp.proc.Pid
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("on the tmpfs"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := newSpec(t, "cat", "/data/f")
	spec.Mounts = append(spec.Mounts, Mount{Source: dir, Destination: "/data"})
	s, err := tryStartWith(t, p, spec)
	if err != nil {
		t.Fatal(err)
	}
	if r := s.wait(t); s.Pid() == pid || r.stdout != "on the tmpfs" {
		t.Errorf("ran as %d (prestarted: %d) and read %q (stderr %q)", s.Pid(), pid, r.stdout, r.stderr)
	}
	assertReaped(t, pid)
}

// Discard ends an unused init: it is reaped, and a second Discard, or one
// after Start, does nothing.
func TestPrestartedDiscard(t *testing.T) {
	p := prestart(t)
	pid := p.rp.proc.Pid
	if err := p.Discard(); err != nil {
		t.Fatal(err)
	}
	assertReaped(t, pid)
	if err := p.Discard(); err != nil {
		t.Fatalf("second Discard: %v", err)
	}
}

func tryStartWith(t *testing.T, p *Prestarted, spec *Spec) (*started, error) {
	t.Helper()
	return startWith(t, func(stdio Stdio) (*Task, error) {
		return p.Start(testContext(t), spec, stdio, Hooks{})
	})
}
