package seccomp

import (
	"bytes"
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

// maxInsns is the kernel's limit on a classic BPF program (BPF_MAXINSNS).
const maxInsns = 4096

// insnSize is the size of one instruction, struct sock_filter.
const insnSize = int(unsafe.Sizeof(unix.SockFilter{}))

// Program is a compiled filter as plain data, for a filter compiled in one
// process (a daemon) and installed in another (a container's init): the
// instructions as the kernel reads them (8 bytes each, in the host's byte
// order) and the flags. Its plain fields keep its JSON form cheap: a
// []byte is base64 to encoding/json, where a type of its own with a
// MarshalJSON method has that method's output scanned again (a third of a
// millisecond for Docker's profile).
type Program struct {
	Insns []byte
	Flags uintptr
}

// Program returns f as a Program.
func (f *Filter) Program() *Program {
	insns := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f.prog))), len(f.prog)*insnSize)
	return &Program{Insns: bytes.Clone(insns), Flags: f.flags}
}

// Filter returns the filter p holds. The kernel verifies the program when
// it is installed; one of no whole instruction, none, or more than the
// kernel takes is refused here.
func (p *Program) Filter() (*Filter, error) {
	n := len(p.Insns) / insnSize
	if len(p.Insns)%insnSize != 0 || n == 0 || n > maxInsns {
		return nil, fmt.Errorf("seccomp: a program of %d bytes is not 1 to %d instructions of %d bytes", len(p.Insns), maxInsns, insnSize)
	}
	prog := make([]unix.SockFilter, n)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(prog))), len(p.Insns)), p.Insns)
	return &Filter{prog: prog, flags: p.Flags}, nil
}

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
