package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Filter is a compiled seccomp BPF program. It is immutable and safe to
// share: Default hands the same Filter to every container with the same
// capabilities.
type Filter struct {
	prog  []unix.SockFilter
	flags uintptr // SECCOMP_FILTER_FLAG_*
}

// Compile compiles an OCI seccomp config for the running machine's ABIs
// (see the package documentation for the semantics).
func Compile(cfg *specs.LinuxSeccomp) (*Filter, error) {
	h, err := thisHost()
	if err != nil {
		return nil, err
	}
	return compileFor(cfg, h)
}

// compileFor compiles cfg for the ABIs of h.
func compileFor(cfg *specs.LinuxSeccomp, h host) (*Filter, error) {
	p, err := parseProfile(cfg)
	if err != nil {
		return nil, err
	}
	arches, err := h.targets(cfg.Architectures)
	if err != nil {
		return nil, err
	}
	plans := make([]archPlan, len(arches))
	for i, a := range arches {
		plans[i] = planArch(p, a)
	}
	prog, err := generate(plans).assemble()
	if err != nil {
		return nil, err
	}
	return &Filter{prog: prog, flags: p.flags}, nil
}

// Len returns the number of BPF instructions of the filter.
func (f *Filter) Len() int { return len(f.prog) }

// Install loads the filter on the calling thread, without TSYNC: the caller
// is a goroutine locked to its OS thread (runtime.LockOSThread) that execs
// the container process right after; the filter survives execve and is
// inherited by every child. The thread needs no_new_privs set
// (prctl(PR_SET_NO_NEW_PRIVS)) or CAP_SYS_ADMIN.
func (f *Filter) Install() error {
	if f == nil || len(f.prog) == 0 {
		return errors.New("seccomp: install: empty filter")
	}
	fprog := unix.SockFprog{Len: uint16(len(f.prog)), Filter: &f.prog[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, f.flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(f)
	switch {
	case errno == 0:
		return nil
	case errno == unix.EACCES:
		return fmt.Errorf("seccomp: install filter: %w (set no_new_privs or hold CAP_SYS_ADMIN)", errno)
	default:
		return fmt.Errorf("seccomp: install filter: %w", errno)
	}
}
