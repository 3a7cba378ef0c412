package seccomp

import (
	"encoding/binary"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The tests in this file run compiled filters in golang.org/x/net/bpf's
// interpreter, so that they can feed any seccomp_data: other ABIs (i386,
// x32, arm), argument values with high bits set, syscall numbers the
// kernel does not have.

// seccompData is the input of a filter.
type seccompData struct {
	nr   uint32
	arch uint32
	args [maxArgs]uint64
}

// bytes lays d out like struct seccomp_data on a little-endian host. The
// interpreter loads 32-bit words big-endian where the kernel loads them in
// host order, so each word is stored big-endian at its native offset.
func (d seccompData) bytes() []byte {
	b := make([]byte, offsetArgs+8*maxArgs)
	binary.BigEndian.PutUint32(b[offsetNr:], d.nr)
	binary.BigEndian.PutUint32(b[offsetArch:], d.arch)
	for i, a := range d.args {
		binary.BigEndian.PutUint32(b[argLow(uint(i)):], uint32(a))
		binary.BigEndian.PutUint32(b[argHigh(uint(i)):], uint32(a>>32))
	}
	return b
}

// vm is a filter loaded in the interpreter.
type vm struct{ *bpf.VM }

func newVM(t testing.TB, f *Filter) vm {
	t.Helper()
	raw := make([]bpf.RawInstruction, len(f.prog))
	for i, in := range f.prog {
		raw[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	insns, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("filter does not disassemble")
	}
	m, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatalf("interpreter rejects the filter: %v", err)
	}
	return vm{m}
}

func (m vm) run(t testing.TB, d seccompData) uint32 {
	t.Helper()
	ret, err := m.Run(d.bytes())
	if err != nil {
		t.Fatalf("run %+v: %v", d, err)
	}
	return uint32(ret)
}

// Filter return values.
const (
	retAllow      = unix.SECCOMP_RET_ALLOW
	retEPERM      = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retENOSYS     = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	retKillThread = unix.SECCOMP_RET_KILL_THREAD
)

// nr returns the number of a syscall in an ABI of the tables.
func nr(t testing.TB, a archSpec, name string) uint32 {
	t.Helper()
	n, ok := a.syscalls().nr(name)
	if !ok {
		t.Fatalf("%s has no syscall %q", a.name, name)
	}
	return n
}

// hostABIs returns the ABIs of the running machine.
func hostABIs(t testing.TB) []archSpec {
	t.Helper()
	h, err := thisHost()
	if err != nil {
		t.Fatal(err)
	}
	arches, err := h.targets(h.compat)
	if err != nil {
		t.Fatal(err)
	}
	return arches
}

// TestDefaultABIs checks Docker's profile in every ABI of the host.
func TestDefaultABIs(t *testing.T) {
	f, err := Default(defaultCaps)
	if err != nil {
		t.Fatal(err)
	}
	m := newVM(t, f)
	const (
		sigchld = uint64(unix.SIGCHLD)
		newNS   = unix.CLONE_NEWNS | sigchld
		newUser = unix.CLONE_NEWUSER | sigchld
		threads = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
			unix.CLONE_THREAD | unix.CLONE_SYSVSEM | unix.CLONE_SETTLS |
			unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID
	)
	cases := []struct {
		name string
		args [maxArgs]uint64
		want uint32
	}{
		{"getpid", [6]uint64{}, retAllow},
		{"read", [6]uint64{}, retAllow},
		{"openat", [6]uint64{}, retAllow},
		{"ptrace", [6]uint64{}, retAllow}, // kernel >= 4.8
		{"mount", [6]uint64{}, retEPERM},
		{"umount2", [6]uint64{}, retEPERM},
		{"unshare", [6]uint64{}, retEPERM},
		{"setns", [6]uint64{}, retEPERM},
		{"keyctl", [6]uint64{}, retEPERM},
		{"io_uring_setup", [6]uint64{}, retEPERM},
		{"clone", [6]uint64{sigchld}, retAllow},
		{"clone", [6]uint64{threads}, retAllow},
		{"clone", [6]uint64{newNS}, retEPERM},
		{"clone", [6]uint64{newUser}, retEPERM},
		{"clone", [6]uint64{unix.CLONE_NEWCGROUP}, retEPERM},
		{"clone", [6]uint64{unix.CLONE_NEWTIME}, retAllow}, // not in Docker's mask
		{"clone3", [6]uint64{}, retENOSYS},
		{"socket", [6]uint64{unix.AF_UNIX}, retAllow},
		{"socket", [6]uint64{unix.AF_INET6}, retAllow},
		{"socket", [6]uint64{39}, retAllow}, // AF_NFC
		{"socket", [6]uint64{unix.AF_ALG}, retEPERM},
		{"socket", [6]uint64{unix.AF_VSOCK}, retEPERM},
		{"socket", [6]uint64{3}, retEPERM}, // AF_AX25, gone from the kernel
		{"socket", [6]uint64{0}, retAllow}, // AF_UNSPEC: Docker's range starts at 0
		{"socket", [6]uint64{1000}, retEPERM},
		{"personality", [6]uint64{0}, retAllow},
		{"personality", [6]uint64{0x20008}, retAllow},
		{"personality", [6]uint64{0xffffffff}, retAllow},
		{"personality", [6]uint64{readImpliesExec}, retEPERM},
	}
	for _, a := range hostABIs(t) {
		for _, c := range cases {
			d := seccompData{nr: nr(t, a, c.name), arch: a.audit, args: c.args}
			if got := m.run(t, d); got != c.want {
				t.Errorf("%s %s%v: got %#x, want %#x", a.name, c.name, c.args[:1], got, c.want)
			}
		}
		// Syscalls newer than the profile get ENOSYS, except on x32 whose
		// compat syscalls (512-547) are the largest numbers the profile
		// names, so that only numbers above 547 do (as with runc).
		newer := seccompData{nr: nr(t, a, "open_tree_attr"), arch: a.audit}
		want := retENOSYS
		if a.name == specs.ArchX32 {
			want = retEPERM
		}
		if got := m.run(t, newer); got != want {
			t.Errorf("%s open_tree_attr: got %#x, want %#x", a.name, got, want)
		}
		// The ends of the ABI's number range: syscall 0 of every ABI is
		// allowed, numbers far above the last syscall get ENOSYS.
		for _, c := range []struct {
			nr   uint32
			want uint32
		}{
			{a.nrFirst, retAllow},
			{a.nrBase | 0x100000, retENOSYS},
			{a.nrLast, retENOSYS},
		} {
			if got := m.run(t, seccompData{nr: c.nr, arch: a.audit}); got != c.want {
				t.Errorf("%s: syscall %#x: got %#x, want %#x", a.name, c.nr, got, c.want)
			}
		}
	}
	foreign := seccompData{nr: 0, arch: unix.AUDIT_ARCH_PPC64LE}
	if got := m.run(t, foreign); got != retKillThread {
		t.Errorf("foreign architecture: got %#x, want KILL_THREAD", got)
	}
}

// TestDefaultArgumentWidth checks that 64-bit ABIs compare whole arguments
// and 32-bit ones only their low word.
func TestDefaultArgumentWidth(t *testing.T) {
	f, err := Default(defaultCaps)
	if err != nil {
		t.Fatal(err)
	}
	m := newVM(t, f)
	for _, a := range hostABIs(t) {
		want := retEPERM
		if a.args32 {
			want = retAllow
		}
		for _, c := range []struct {
			name string
			arg  uint64
		}{
			{"socket", 1<<32 | unix.AF_INET},
			{"personality", 1<<32 | 0xffffffff},
		} {
			d := seccompData{nr: nr(t, a, c.name), arch: a.audit, args: [6]uint64{c.arg}}
			if got := m.run(t, d); got != want {
				t.Errorf("%s %s(%#x): got %#x, want %#x", a.name, c.name, c.arg, got, want)
			}
		}
	}
}

func TestDefaultSysAdmin(t *testing.T) {
	f, err := Default(append([]string{"CAP_SYS_ADMIN"}, defaultCaps...))
	if err != nil {
		t.Fatal(err)
	}
	m := newVM(t, f)
	for _, a := range hostABIs(t) {
		for _, c := range []struct {
			name string
			arg  uint64
			want uint32
		}{
			{"mount", 0, retAllow},
			{"unshare", unix.CLONE_NEWUSER, retAllow},
			{"setns", 0, retAllow},
			{"clone", unix.CLONE_NEWNS | unix.CLONE_NEWUSER, retAllow},
			{"clone3", 0, retAllow},
			{"bpf", 0, retAllow},
			{"keyctl", 0, retEPERM},
			{"reboot", 0, retEPERM},
			{"init_module", 0, retEPERM},
		} {
			d := seccompData{nr: nr(t, a, c.name), arch: a.audit, args: [6]uint64{c.arg}}
			if got := m.run(t, d); got != c.want {
				t.Errorf("%s %s: got %#x, want %#x", a.name, c.name, got, c.want)
			}
		}
	}
}
