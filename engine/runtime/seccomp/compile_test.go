package seccomp

import (
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func errnoRet(e unix.Errno) *uint {
	u := uint(e)
	return &u
}

func retErrno(e unix.Errno) uint32 { return unix.SECCOMP_RET_ERRNO | uint32(e) }

// vmCall is one system call a compile test feeds a filter, and what the
// filter must return.
type vmCall struct {
	arch specs.Arch
	name string  // syscall name; ignored when nr is set
	nr   *uint32 // raw syscall number
	args [maxArgs]uint64
	want uint32
}

func rawNr(n uint32) *uint32 { return &n }

// checkCalls compiles cfg for an amd64 host and checks the calls.
func checkCalls(t *testing.T, cfg *specs.LinuxSeccomp, calls []vmCall) {
	t.Helper()
	h, err := hostOf("amd64")
	if err != nil {
		t.Fatal(err)
	}
	f, err := compileFor(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	m := newVM(t, f)
	for _, c := range calls {
		arch := c.arch
		if arch == "" {
			arch = specs.ArchX86_64
		}
		a := mustArch(t, arch)
		d := seccompData{arch: a.audit, args: c.args}
		if c.nr != nil {
			d.nr = *c.nr
		} else {
			d.nr = nr(t, a, c.name)
		}
		if got := m.run(t, d); got != c.want {
			t.Errorf("%s %s nr=%#x args=%#x: got %#x, want %#x", arch, c.name, d.nr, d.args[:2], got, c.want)
		}
	}
}

func TestCompileCustom(t *testing.T) {
	checkCalls(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdirat"}, Action: specs.ActErrno, ErrnoRet: errnoRet(unix.EACCES)},
		},
	}, []vmCall{
		{name: "mkdirat", want: retErrno(unix.EACCES)},
		{name: "mkdir", want: retAllow},
		{name: "mount", want: retAllow},
		{name: "open_tree_attr", want: retAllow},                    // no ENOSYS stub under ALLOW
		{arch: specs.ArchX86, name: "mkdirat", want: retKillThread}, // i386 not listed
		{nr: rawNr(x32SyscallBit), want: retKillThread},             // neither is x32
	})
}

func TestCompileUnconditionalWins(t *testing.T) {
	eq1 := []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: specs.OpEqualTo}}
	for _, order := range []string{"conditional first", "unconditional first"} {
		t.Run(order, func(t *testing.T) {
			rules := []specs.LinuxSyscall{
				{Names: []string{"kill"}, Action: specs.ActErrno, ErrnoRet: errnoRet(unix.EINVAL), Args: eq1},
				{Names: []string{"kill"}, Action: specs.ActAllow},
				{Names: []string{"kill"}, Action: specs.ActErrno, ErrnoRet: errnoRet(unix.ESRCH)},
			}
			if order == "unconditional first" {
				rules[0], rules[1] = rules[1], rules[0]
			}
			checkCalls(t, &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: rules}, []vmCall{
				{name: "kill", args: [6]uint64{1}, want: retAllow},
				{name: "kill", args: [6]uint64{2}, want: retAllow},
			})
		})
	}
}

// TestCompileDefaultActionRulesDropped checks that a rule with the default
// action is dropped (runc) instead of overriding the syscall's other rules.
func TestCompileDefaultActionRulesDropped(t *testing.T) {
	checkCalls(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"kill"}, Action: specs.ActAllow},
			{Names: []string{"kill"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
				{Index: 1, Value: 9, Op: specs.OpEqualTo},
			}},
		},
	}, []vmCall{
		{name: "kill", args: [6]uint64{100, 9}, want: retEPERM},
		{name: "kill", args: [6]uint64{100, 15}, want: retAllow},
	})
}

func TestCompileConditions(t *testing.T) {
	checkCalls(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86},
		Syscalls: []specs.LinuxSyscall{
			// Different arguments: ANDed.
			{Names: []string{"kill"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 10, Op: specs.OpGreaterEqual},
				{Index: 1, Value: 9, Op: specs.OpNotEqual},
			}},
			// The same argument twice: ORed (runc).
			{Names: []string{"tkill"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 1, Value: 9, Op: specs.OpEqualTo},
				{Index: 1, Value: 15, Op: specs.OpEqualTo},
			}},
			{Names: []string{"fcntl"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 1, Value: 0xf0, ValueTwo: 0x30, Op: specs.OpMaskedEqual},
			}},
			// The value is masked too (libseccomp): 0x3f matches like 0x30.
			{Names: []string{"fcntl"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 2, Value: 0xf0, ValueTwo: 0x3f, Op: specs.OpMaskedEqual},
			}},
			{Names: []string{"lseek"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 1, Value: 1 << 32, Op: specs.OpLessThan},
			}},
			{Names: []string{"dup"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 1<<32 | 5, Op: specs.OpLessEqual},
			}},
			{Names: []string{"dup2"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 1<<32 | 5, Op: specs.OpGreaterThan},
			}},
		},
	}, []vmCall{
		{name: "kill", args: [6]uint64{10, 15}, want: retAllow},
		{name: "kill", args: [6]uint64{10, 9}, want: retEPERM},
		{name: "kill", args: [6]uint64{9, 15}, want: retEPERM},
		{name: "kill", args: [6]uint64{1 << 40, 15}, want: retAllow},
		{name: "tkill", args: [6]uint64{1, 9}, want: retAllow},
		{name: "tkill", args: [6]uint64{1, 15}, want: retAllow},
		{name: "tkill", args: [6]uint64{1, 2}, want: retEPERM},
		{name: "fcntl", args: [6]uint64{0, 0x3c}, want: retAllow},
		{name: "fcntl", args: [6]uint64{0, 1<<40 | 0x31}, want: retAllow},
		{name: "fcntl", args: [6]uint64{0, 0x40}, want: retEPERM},
		{name: "fcntl", args: [6]uint64{0, 0x40, 0x31}, want: retAllow},
		{name: "fcntl", args: [6]uint64{0, 0x40, 0x3f}, want: retAllow},
		{name: "fcntl", args: [6]uint64{0, 0x40, 0x4f}, want: retEPERM},
		{name: "lseek", args: [6]uint64{0, 0xffffffff}, want: retAllow},
		{name: "lseek", args: [6]uint64{0, 1 << 32}, want: retEPERM},
		{name: "dup", args: [6]uint64{5}, want: retAllow},
		{name: "dup", args: [6]uint64{1<<32 | 5}, want: retAllow},
		{name: "dup", args: [6]uint64{1<<32 | 6}, want: retEPERM},
		{name: "dup", args: [6]uint64{2 << 32}, want: retEPERM},
		{name: "dup2", args: [6]uint64{1<<32 | 6}, want: retAllow},
		{name: "dup2", args: [6]uint64{2 << 32}, want: retAllow},
		{name: "dup2", args: [6]uint64{1<<32 | 5}, want: retEPERM},
		{name: "dup2", args: [6]uint64{0xffffffff}, want: retEPERM},
		// i386 compares the low 32 bits only, of the arguments and of the
		// values (libseccomp): "< 1<<32" becomes "< 0", never true.
		{arch: specs.ArchX86, name: "lseek", args: [6]uint64{0, 0}, want: retEPERM},
		{arch: specs.ArchX86, name: "kill", args: [6]uint64{1<<32 | 10, 1<<32 | 9}, want: retEPERM},
		{arch: specs.ArchX86, name: "kill", args: [6]uint64{1<<32 | 10, 15}, want: retAllow},
		{arch: specs.ArchX86, name: "dup", args: [6]uint64{6}, want: retEPERM},
		{arch: specs.ArchX86, name: "dup", args: [6]uint64{5}, want: retAllow},
	})
}

func TestCompileActions(t *testing.T) {
	rule := func(name string, act specs.LinuxSeccompAction, errno *uint) specs.LinuxSyscall {
		return specs.LinuxSyscall{Names: []string{name}, Action: act, ErrnoRet: errno}
	}
	checkCalls(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActKillProcess,
		Syscalls: []specs.LinuxSyscall{
			rule("read", specs.ActAllow, nil),
			rule("write", specs.ActLog, nil),
			rule("openat", specs.ActTrap, nil),
			rule("close", specs.ActTrace, nil),
			rule("mmap", specs.ActTrace, errnoRet(7)),
			rule("kill", specs.ActKill, nil),
			rule("tkill", specs.ActKillThread, nil),
			rule("dup", specs.ActErrno, nil),
			rule("dup2", specs.ActErrno, errnoRet(0)),
			rule("dup3", specs.ActErrno, errnoRet(4095)),
			rule("not_a_syscall", specs.ActAllow, nil),
		},
	}, []vmCall{
		{name: "read", want: unix.SECCOMP_RET_ALLOW},
		{name: "write", want: unix.SECCOMP_RET_LOG},
		{name: "openat", want: unix.SECCOMP_RET_TRAP},
		{name: "close", want: unix.SECCOMP_RET_TRACE | uint32(unix.EPERM)},
		{name: "mmap", want: unix.SECCOMP_RET_TRACE | 7},
		{name: "kill", want: unix.SECCOMP_RET_KILL_THREAD},
		{name: "tkill", want: unix.SECCOMP_RET_KILL_THREAD},
		{name: "dup", want: retEPERM},
		{name: "dup2", want: unix.SECCOMP_RET_ERRNO},
		{name: "dup3", want: unix.SECCOMP_RET_ERRNO | 4095},
		{name: "getpid", want: unix.SECCOMP_RET_KILL_PROCESS},
		// dup3 (292) is the largest syscall named: ENOSYS above it.
		{name: "pipe2", want: retENOSYS},
		{arch: specs.ArchX86, name: "read", want: retKillThread},
	})
}

func TestCompileArchitectures(t *testing.T) {
	checkCalls(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		// Foreign architectures are ignored; the native one is implied.
		Architectures: []specs.Arch{specs.ArchS390X, specs.ArchX32, specs.ArchAARCH64},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "rt_sigaction", "arch_prctl"}, Action: specs.ActAllow},
		},
	}, []vmCall{
		{name: "read", want: retAllow},
		{name: "rt_sigaction", want: retAllow},
		{name: "arch_prctl", want: retAllow},
		{arch: specs.ArchX32, name: "read", want: retAllow},
		// x32 has its own rt_sigaction at 512; 13 is x86_64's only.
		{arch: specs.ArchX32, name: "rt_sigaction", nr: rawNr(x32SyscallBit | 512), want: retAllow},
		{arch: specs.ArchX32, name: "rt_sigaction", nr: rawNr(x32SyscallBit | 13), want: retEPERM},
		{arch: specs.ArchX86, name: "read", want: retKillThread},
	})
}

func TestCompileErrors(t *testing.T) {
	big := uint(5000)
	for _, c := range []struct {
		name string
		cfg  *specs.LinuxSeccomp
		want string
	}{
		{"nil", nil, "nil profile"},
		{"no default action", &specs.LinuxSeccomp{}, "default action"},
		{"unknown action", &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_MAYBE"}, "unknown action"},
		{"notify", &specs.LinuxSeccomp{DefaultAction: specs.ActNotify}, "not supported"},
		{"listener", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/x.sock"}, "listenerPath"},
		{"errno on allow", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, DefaultErrnoRet: errnoRet(1)}, "errnoRet"},
		{"errno too big", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: &big}, "out of range"},
		{"unknown flag", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_X"}}, "flag"},
		{"unknown arch", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_Z80"}}, "architecture"},
		{"empty name", syscallCfg(specs.LinuxSyscall{Names: []string{""}, Action: specs.ActErrno}), "empty syscall name"},
		{"bad rule action", syscallCfg(specs.LinuxSyscall{Names: []string{"read"}, Action: "ALLOW"}), "unknown action"},
		{"bad index", syscallCfg(specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}), "argument index"},
		{"bad operator", syscallCfg(specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_LIKE"}}}), "unknown operator"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func syscallCfg(sc specs.LinuxSyscall) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{sc}}
}

func TestCompileFlags(t *testing.T) {
	f, err := Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Flags: []specs.LinuxSeccompFlag{
			specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow, flagTSync,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := uintptr(unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW); f.flags != want {
		t.Errorf("flags %#x, want %#x", f.flags, want)
	}
}

func TestDefaultCache(t *testing.T) {
	a, err := Default([]string{"CAP_KILL", "CAP_CHOWN"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Default([]string{"chown", " CAP_KILL", "CAP_CHOWN"})
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("the same capability set, spelled differently, compiled twice")
	}
	c, err := Default([]string{"CAP_KILL", "CAP_CHOWN", "CAP_SYS_PTRACE"})
	if err != nil {
		t.Fatal(err)
	}
	if c == a {
		t.Error("different capability sets share a filter")
	}
}

// Callers that come while a capability set compiles share that compile:
// a daemon compiles the default set as it starts, and its first container
// may ask for it before that is done.
func TestDefaultCompilesOnceForConcurrentCallers(t *testing.T) {
	caps := []string{"CAP_KILL", "CAP_NET_RAW", "CAP_FOWNER"} // a set no other test uses
	before := defaultCompiles.Load()
	filters := make(chan *Filter, 8)
	for range cap(filters) {
		go func() {
			f, err := Default(caps)
			if err != nil {
				t.Error(err)
			}
			filters <- f
		}()
	}
	first := <-filters
	for range cap(filters) - 1 {
		if f := <-filters; f != first {
			t.Fatal("concurrent callers got filters compiled apart")
		}
	}
	if n := defaultCompiles.Load() - before; n != 1 {
		t.Errorf("%d compiles for %d concurrent callers, want 1", n, cap(filters))
	}
}

func TestDefaultSize(t *testing.T) {
	f, err := Default(defaultCaps)
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() == 0 || f.Len() > unix.BPF_MAXINSNS {
		t.Fatalf("default filter has %d instructions", f.Len())
	}
	t.Logf("default filter: %d instructions", f.Len())
}

// TestSyscallTables checks the tables of the native ABI against the
// syscall numbers golang.org/x/sys was generated with.
func TestSyscallTables(t *testing.T) {
	h, err := thisHost()
	if err != nil {
		t.Fatal(err)
	}
	a := mustArch(t, h.native)
	for name, want := range map[string]uintptr{
		"read": unix.SYS_READ, "getpid": unix.SYS_GETPID, "mount": unix.SYS_MOUNT,
		"clone": unix.SYS_CLONE, "clone3": unix.SYS_CLONE3, "socket": unix.SYS_SOCKET,
		"personality": unix.SYS_PERSONALITY, "io_uring_setup": unix.SYS_IO_URING_SETUP,
		"mkdirat": unix.SYS_MKDIRAT, "removexattrat": unix.SYS_REMOVEXATTRAT,
		"open_tree_attr": unix.SYS_OPEN_TREE_ATTR, "file_getattr": unix.SYS_FILE_GETATTR,
		"file_setattr": unix.SYS_FILE_SETATTR, "listns": unix.SYS_LISTNS,
		"rseq_slice_yield": unix.SYS_RSEQ_SLICE_YIELD,
	} {
		if got := nr(t, a, name); uintptr(got) != want {
			t.Errorf("%s %s: table says %d, x/sys %d", a.name, name, got, want)
		}
	}
}
