package seccomp

import (
	"encoding/json"
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

// filterJSON is a Filter's JSON form: the program as the kernel reads it
// (8 bytes per instruction, in the host's byte order) and the flags.
type filterJSON struct {
	Program []byte
	Flags   uintptr
}

// MarshalJSON encodes the compiled program, so that a filter compiled once
// (by a daemon, say) travels to the process that installs it.
func (f *Filter) MarshalJSON() ([]byte, error) {
	prog := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f.prog))), len(f.prog)*int(unsafe.Sizeof(unix.SockFilter{})))
	return json.Marshal(filterJSON{Program: prog, Flags: f.flags})
}

// UnmarshalJSON decodes what MarshalJSON encoded. The kernel verifies the
// program itself when it is installed; a program of no whole instruction,
// none, or more than the kernel takes is refused here.
func (f *Filter) UnmarshalJSON(b []byte) error {
	var j filterJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("seccomp filter: %w", err)
	}
	size := int(unsafe.Sizeof(unix.SockFilter{}))
	n := len(j.Program) / size
	if len(j.Program)%size != 0 || n == 0 || n > maxInsns {
		return fmt.Errorf("seccomp filter: a program of %d bytes is not 1 to %d instructions of %d bytes", len(j.Program), maxInsns, size)
	}
	prog := make([]unix.SockFilter, n)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(prog))), len(j.Program)), j.Program)
	f.prog, f.flags = prog, j.Flags
	return nil
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
