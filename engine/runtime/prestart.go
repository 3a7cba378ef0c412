package runtime

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"
)

// Prestarted is a container's init started before its container is known:
// a monitor on standby starts one so that the ~4.5 ms the init spends
// reaching its main (the Go runtime and the package initialisers of the
// whole binary) are off the path of the next container's start.
//
// It is born in the namespaces a container has by default (new mount, UTS,
// IPC, PID and network ones), from the sealed binary as any init, with
// /dev/null as its stdio and nothing else open but its sync socket, and
// waits for its spec. Start sends the spec together with the process's
// stdio (SCM_RIGHTS), and the init goes on as one started by Start: it
// joins the cgroup in Hooks.Created, then builds the container, drops its
// privileges and applies seccomp, all after receiving the spec.
//
// It serves a container only when that container would have been started
// the same way: one that needs other namespaces (the host's network, or
// another container's) gets a new init. So does a container started after
// the host's mount table changed: the init's mount namespace is a copy of
// the host's from when it was born, and a mount made since, on a host whose
// mounts do not propagate, would be missing from it (a volume's source
// mounted meanwhile, say).
type Prestarted struct {
	rp *roleProc
	// mountinfo is a descriptor of the caller's /proc/self/mountinfo,
	// opened before the init was born: it polls POLLPRI once the mount
	// table has changed. It is a raw descriptor: in Go's poller, whose
	// epoll_wait polls it too, the change would be consumed unseen.
	mountinfo int
}

// Prestart starts a container's init that waits for its container (see
// Prestarted). Its caller, which it is a child of, must use it with
// Prestarted.Start or end it with Prestarted.Discard.
func Prestart() (*Prestarted, error) {
	exe, err := sealedExe()
	if err != nil {
		return nil, err
	}
	mountinfo, err := unix.Open("/proc/self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /proc/self/mountinfo: %w", err)
	}
	rp, err := spawn(exe, role{name: roleInit, cloneflags: initCloneflags("")}, Stdio{})
	if err != nil {
		unix.Close(mountinfo)
		return nil, err
	}
	return &Prestarted{rp: rp, mountinfo: mountinfo}, nil
}

// Start starts spec.Process as Start does, in the prestarted init when it
// fits the container, otherwise in a new one (the prestarted one is then
// discarded). p is used up either way.
func (p *Prestarted) Start(ctx context.Context, spec *Spec, stdio Stdio, hooks Hooks) (*Task, error) {
	if err := validateSpec(spec); err != nil {
		p.Discard()
		return nil, err
	}
	if !p.fits(spec) {
		p.Discard()
		return Start(ctx, spec, stdio, hooks)
	}
	rp := p.take()
	m, err := specMessage(spec, stdio.consoleMode(&spec.Process))
	if err != nil {
		rp.discard()
		return nil, err
	}
	// The init was born with /dev/null as its stdio: the process's own
	// comes with the spec.
	m.Stdio = true
	files, closeStdio, err := stdio.files()
	if err != nil {
		rp.discard()
		return nil, err
	}
	defer closeStdio()
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	return rp.finish(ctx, m, fds, hooks)
}

// fits reports whether the container of spec would have been started in
// an init like p's: born in the same namespaces, with the same mounts.
func (p *Prestarted) fits(spec *Spec) bool {
	if p.rp == nil || initCloneflags(spec.Network) != initCloneflags("") {
		return false
	}
	pfd := []unix.PollFd{{Fd: int32(p.mountinfo), Events: unix.POLLPRI}}
	n, err := unix.Poll(pfd, 0)
	return err == nil && n == 0
}

// take returns p's init, which p then no longer holds.
func (p *Prestarted) take() *roleProc {
	rp := p.rp
	p.rp = nil
	unix.Close(p.mountinfo)
	return rp
}

// Discard ends the prestarted init if it was not used: it is killed and
// reaped, and its namespaces, which held nothing else, go with it.
func (p *Prestarted) Discard() error {
	if p.rp == nil {
		return nil
	}
	return p.take().discard()
}

// discard kills a role that was never sent its spec, reaps it and closes
// the parent's end of its sync socket.
func (rp *roleProc) discard() error {
	rp.conn.close()
	if _, err := rp.kill(); err != nil {
		return fmt.Errorf("discard %s %d: %w", rp.name, rp.proc.Pid, err)
	}
	return nil
}
