package seccomp

import (
	"fmt"
	"math"
	"runtime"
	"slices"

	systables "github.com/elastic/go-seccomp-bpf/arch"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// x32SyscallBit marks a system call made through the x32 ABI. x32 shares
// AUDIT_ARCH_X86_64 with x86_64, so this bit in the syscall number is the only
// way to tell the two apart (__X32_SYSCALL_BIT in the kernel).
const x32SyscallBit = 0x40000000

// archSpec is one syscall ABI the filter can be asked to handle.
type archSpec struct {
	name  specs.Arch
	audit uint32 // AUDIT_ARCH_* value the kernel puts in seccomp_data.arch

	// nrBase is ORed into every syscall number of the table (x32's
	// x32SyscallBit); nrFirst and nrLast bound the syscall numbers that
	// reach this ABI's part of the filter.
	nrBase, nrFirst, nrLast uint32

	// args32 is set for ABIs whose arguments are 32 bits wide: only the low
	// word of an argument is compared, like libseccomp does for them.
	args32 bool

	table *systables.Info

	// preferFrom, when not 0, is where the ABI's own syscalls start in a
	// table that also lists entries it cannot use under the same names:
	// the x32 table has both "ioctl" 16 (64-bit only: ENOSYS for x32
	// callers) and "ioctl" 514 (x32). Numbers from preferFrom win, as in
	// libseccomp.
	preferFrom int
}

// host is the set of ABIs a machine runs: the native one and the others its
// kernel can run (and so may show up in seccomp_data.arch). They are the
// only architectures a filter built for the machine has to handle.
type host struct {
	native specs.Arch
	compat []specs.Arch
}

// hostOf returns the ABIs of a machine running a GOARCH binary.
func hostOf(goarch string) (host, error) {
	switch goarch {
	case "amd64":
		return host{specs.ArchX86_64, []specs.Arch{specs.ArchX86, specs.ArchX32}}, nil
	case "arm64":
		return host{specs.ArchAARCH64, []specs.Arch{specs.ArchARM}}, nil
	}
	return host{}, fmt.Errorf("seccomp: unsupported GOARCH %s (amd64 and arm64 are supported)", goarch)
}

// thisHost returns the ABIs of the running machine.
func thisHost() (host, error) { return hostOf(runtime.GOARCH) }

// lookupArch returns the ABI description of an architecture this package
// has syscall tables for.
func lookupArch(name specs.Arch) (archSpec, bool) {
	switch name {
	case specs.ArchX86_64:
		return archSpec{name: name, audit: unix.AUDIT_ARCH_X86_64,
			nrLast: x32SyscallBit - 1, table: systables.X86_64}, true
	case specs.ArchX32:
		return archSpec{name: name, audit: unix.AUDIT_ARCH_X86_64,
			nrBase: x32SyscallBit, nrFirst: x32SyscallBit, nrLast: math.MaxUint32,
			args32: true, table: systables.X32, preferFrom: 512}, true
	case specs.ArchX86:
		return archSpec{name: name, audit: unix.AUDIT_ARCH_I386,
			nrLast: math.MaxUint32, args32: true, table: systables.I386}, true
	case specs.ArchAARCH64:
		return archSpec{name: name, audit: unix.AUDIT_ARCH_AARCH64,
			nrLast: math.MaxUint32, table: systables.AARCH64}, true
	case specs.ArchARM:
		return archSpec{name: name, audit: unix.AUDIT_ARCH_ARM,
			nrLast: math.MaxUint32, args32: true, table: systables.ARM}, true
	}
	return archSpec{}, false
}

// knownArch reports whether name is an architecture of the OCI runtime
// spec. Unknown names are an error, as in runc; known ones the host cannot
// run are ignored (no system call of theirs can ever reach the filter).
func knownArch(name specs.Arch) bool {
	switch name {
	case specs.ArchX86, specs.ArchX86_64, specs.ArchX32, specs.ArchARM,
		specs.ArchAARCH64, specs.ArchMIPS, specs.ArchMIPS64, specs.ArchMIPS64N32,
		specs.ArchMIPSEL, specs.ArchMIPSEL64, specs.ArchMIPSEL64N32, specs.ArchPPC,
		specs.ArchPPC64, specs.ArchPPC64LE, specs.ArchS390, specs.ArchS390X,
		specs.ArchPARISC, specs.ArchPARISC64, specs.ArchRISCV64,
		specs.ArchLOONGARCH64, specs.ArchM68K, specs.ArchSH, specs.ArchSHEB:
		return true
	}
	return false
}

// syscallTable resolves syscall names in one ABI.
type syscallTable struct {
	arch      archSpec
	preferred map[string]int // names listed twice: the number to use
}

func (a archSpec) syscalls() syscallTable {
	t := syscallTable{arch: a}
	if a.preferFrom == 0 {
		return t
	}
	// go-seccomp-bpf's name index of such a table picks one of the two
	// numbers at random (it inverts a map), so build this part ourselves.
	t.preferred = make(map[string]int)
	for nr, name := range a.table.SyscallNumbers {
		if nr >= a.preferFrom {
			t.preferred[name] = nr
		}
	}
	return t
}

// nr returns the number of the named system call, as it appears in
// seccomp_data.nr. Unknown names return false: the caller skips them, as
// runc does for syscalls its libseccomp does not know.
func (t syscallTable) nr(name string) (uint32, bool) {
	nr, ok := t.preferred[name]
	if !ok {
		nr, ok = t.arch.table.SyscallNames[name]
	}
	if !ok {
		nr, ok = newerSyscall(name)
	}
	if !ok || nr < 0 {
		return 0, false
	}
	return uint32(nr) | t.arch.nrBase, true
}

// newerSyscall knows the system calls added after the tables of
// go-seccomp-bpf (Linux 6.15). They use the common numbers of the unified
// syscall table, the same on x86_64, x32 (before the x32 bit), i386,
// aarch64 and arm.
func newerSyscall(name string) (int, bool) {
	switch name {
	case "file_getattr": // Linux 6.17
		return 468, true
	case "file_setattr": // Linux 6.17
		return 469, true
	case "listns":
		return 470, true
	case "rseq_slice_yield":
		return 471, true
	}
	return 0, false
}

// targets returns the ABIs a filter must handle: the native one, which
// libseccomp always includes, followed by the listed ones the host can run.
func (h host) targets(listed []specs.Arch) ([]archSpec, error) {
	names := []specs.Arch{h.native}
	for _, name := range listed {
		if !knownArch(name) {
			return nil, fmt.Errorf("seccomp: unknown architecture %q", name)
		}
		if slices.Contains(h.compat, name) && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	arches := make([]archSpec, 0, len(names))
	for _, name := range names {
		a, ok := lookupArch(name)
		if !ok {
			return nil, fmt.Errorf("seccomp: no syscall table for architecture %s", name)
		}
		arches = append(arches, a)
	}
	return arches, nil
}
