package seccomp

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// reference decides what a profile does with one system call by reading
// the profile directly, the slow and obvious way, with the semantics the
// package documents. The compiled filters must agree with it.
func reference(cfg *specs.LinuxSeccomp, h host, d seccompData) uint32 {
	abi, ok := referenceABI(cfg, h, d)
	if !ok {
		return unix.SECCOMP_RET_KILL_THREAD
	}
	table := abi.syscalls()
	def := referenceAction(cfg.DefaultAction, cfg.DefaultErrnoRet)
	var (
		largest       uint32
		named         bool
		unconditional *uint32
		conditional   []specs.LinuxSyscall // one alternative each
	)
	for _, sc := range cfg.Syscalls {
		act := referenceAction(sc.Action, sc.ErrnoRet)
		for _, name := range sc.Names {
			n, ok := table.nr(name)
			if !ok {
				continue
			}
			named, largest = true, max(largest, n)
			if n != d.nr || act == def || unconditional != nil {
				continue
			}
			if len(sc.Args) == 0 {
				unconditional = &act
				continue
			}
			conditional = append(conditional, referenceAlternatives(sc)...)
		}
	}
	passes := cfg.DefaultAction == specs.ActAllow || cfg.DefaultAction == specs.ActLog || cfg.DefaultAction == specs.ActTrace
	switch {
	case !passes && named && d.nr > largest:
		return unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	case unconditional != nil:
		return *unconditional
	}
	for _, sc := range conditional {
		if referenceMatch(sc.Args, abi.args32, d.args) {
			return referenceAction(sc.Action, sc.ErrnoRet)
		}
	}
	return def
}

// referenceABI returns the ABI that handles d, if the filter handles it.
func referenceABI(cfg *specs.LinuxSeccomp, h host, d seccompData) (archSpec, bool) {
	for _, name := range append([]specs.Arch{h.native}, cfg.Architectures...) {
		if name != h.native && !slices.Contains(h.compat, name) {
			continue
		}
		a, _ := lookupArch(name)
		if a.audit == d.arch && d.nr >= a.nrFirst && d.nr <= a.nrLast {
			return a, true
		}
	}
	return archSpec{}, false
}

// referenceAlternatives splits a rule comparing one argument twice into
// one rule per comparison (runc).
func referenceAlternatives(sc specs.LinuxSyscall) []specs.LinuxSyscall {
	seen := map[uint]bool{}
	repeated := false
	for _, a := range sc.Args {
		repeated = repeated || seen[a.Index]
		seen[a.Index] = true
	}
	if !repeated {
		return []specs.LinuxSyscall{sc}
	}
	var out []specs.LinuxSyscall
	for _, a := range sc.Args {
		one := sc
		one.Args = []specs.LinuxSeccompArg{a}
		out = append(out, one)
	}
	return out
}

func referenceMatch(conds []specs.LinuxSeccompArg, args32 bool, args [maxArgs]uint64) bool {
	for _, c := range conds {
		x, v, v2 := args[c.Index], c.Value, c.ValueTwo
		if args32 {
			x, v, v2 = uint64(uint32(x)), uint64(uint32(v)), uint64(uint32(v2))
		}
		var ok bool
		switch c.Op {
		case specs.OpEqualTo:
			ok = x == v
		case specs.OpNotEqual:
			ok = x != v
		case specs.OpLessThan:
			ok = x < v
		case specs.OpLessEqual:
			ok = x <= v
		case specs.OpGreaterThan:
			ok = x > v
		case specs.OpGreaterEqual:
			ok = x >= v
		case specs.OpMaskedEqual:
			ok = x&v == v2&v
		}
		if !ok {
			return false
		}
	}
	return true
}

func referenceAction(act specs.LinuxSeccompAction, errnoRet *uint) uint32 {
	data := uint32(unix.EPERM)
	if errnoRet != nil {
		data = uint32(*errnoRet)
	}
	return map[specs.LinuxSeccompAction]uint32{
		specs.ActKill:        0,
		specs.ActKillThread:  0,
		specs.ActKillProcess: 0x80000000,
		specs.ActTrap:        0x00030000,
		specs.ActErrno:       0x00050000 | data,
		specs.ActTrace:       0x7ff00000 | data,
		specs.ActLog:         0x7ffc0000,
		specs.ActAllow:       0x7fff0000,
	}[act]
}

// TestCompileMatchesReference compiles random profiles for both supported
// hosts and compares every filter with the reference on many inputs.
func TestCompileMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, goarch := range []string{"amd64", "arm64"} {
		h, err := hostOf(goarch)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 150; i++ {
			cfg := randomProfile(t, rng, i%10 == 0)
			f, err := compileFor(cfg, h)
			if err != nil {
				t.Fatalf("%s: compile: %v\n%s", goarch, err, dumpProfile(cfg))
			}
			m := newVM(t, f)
			for range 1500 {
				d := randomInput(t, rng, cfg, h)
				got, want := m.run(t, d), reference(cfg, h, d)
				if got != want {
					t.Fatalf("%s: input nr=%#x arch=%#x args=%#x: filter returns %#x, reference %#x\nprofile:\n%s",
						goarch, d.nr, d.arch, d.args, got, want, dumpProfile(cfg))
				}
			}
		}
	}
}

func dumpProfile(cfg *specs.LinuxSeccomp) string {
	b, _ := json.MarshalIndent(cfg, "", "  ")
	return string(b)
}

// Syscall names the random profiles use: common ones, ABI-specific ones,
// names listed twice in the x32 table, names newer than the tables and
// names no table has.
var randomNames = []string{
	"read", "write", "openat", "close", "mount", "umount2", "socket", "personality",
	"clone", "clone3", "getpid", "ioctl", "futex", "mmap", "kill", "mkdirat",
	"socketcall", "arch_prctl", "open", "set_tls", "breakpoint", "rt_sigaction",
	"ptrace", "execve", "open_tree_attr", "file_getattr", "rseq_slice_yield",
	"removexattrat", "pwritev2", "no_such_syscall",
}

// Operand values the random profiles and inputs share, so that comparisons
// often land on their boundaries.
var randomValues = []uint64{
	0, 1, 2, 3, 37, 38, 39, 40, 0x7E020000, 0x7fffffff, 0xffffffff,
	1 << 32, 1<<32 | 38, 0xffffffff_00000000, 0x80000000_00000000, ^uint64(0),
}

func randomValue(rng *rand.Rand) uint64 {
	if rng.IntN(8) == 0 {
		return rng.Uint64() >> rng.IntN(64)
	}
	return randomValues[rng.IntN(len(randomValues))]
}

var randomActions = []specs.LinuxSeccompAction{
	specs.ActAllow, specs.ActErrno, specs.ActKill, specs.ActKillProcess,
	specs.ActTrap, specs.ActLog, specs.ActTrace, specs.ActErrno,
}

func randomAction(rng *rand.Rand) (specs.LinuxSeccompAction, *uint) {
	act := randomActions[rng.IntN(len(randomActions))]
	if (act == specs.ActErrno || act == specs.ActTrace) && rng.IntN(2) == 0 {
		errno := uint([]int{1, 13, 38, 4095}[rng.IntN(4)])
		return act, &errno
	}
	return act, nil
}

var randomOps = []specs.LinuxSeccompOperator{
	specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual,
	specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual,
}

// randomProfile returns a valid profile; a big one allows most of the
// x86_64 table first, so that jumps need trampolines.
func randomProfile(t testing.TB, rng *rand.Rand, big bool) *specs.LinuxSeccomp {
	cfg := &specs.LinuxSeccomp{}
	cfg.DefaultAction, cfg.DefaultErrnoRet = randomAction(rng)
	for _, a := range []specs.Arch{specs.ArchX86, specs.ArchX32, specs.ArchARM, specs.ArchAARCH64, specs.ArchX86_64, specs.ArchS390X} {
		if rng.IntN(2) == 0 {
			cfg.Architectures = append(cfg.Architectures, a)
		}
	}
	if big {
		var all []string
		for name := range mustArch(t, specs.ArchX86_64).table.SyscallNames {
			all = append(all, name)
		}
		slices.Sort(all)
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		cfg.Syscalls = append(cfg.Syscalls, specs.LinuxSyscall{Names: all[:300], Action: specs.ActAllow})
	}
	if rng.IntN(3) == 0 {
		cfg.Syscalls = append(cfg.Syscalls, randomList(rng)...)
	}
	for range 1 + rng.IntN(12) {
		sc := specs.LinuxSyscall{}
		for range 1 + rng.IntN(3) {
			sc.Names = append(sc.Names, randomNames[rng.IntN(len(randomNames))])
		}
		sc.Action, sc.ErrnoRet = randomAction(rng)
		for range rng.IntN(4) {
			sc.Args = append(sc.Args, specs.LinuxSeccompArg{
				Index:    uint(rng.IntN(3)),
				Op:       randomOps[rng.IntN(len(randomOps))],
				Value:    randomValue(rng),
				ValueTwo: randomValue(rng),
			})
		}
		cfg.Syscalls = append(cfg.Syscalls, sc)
	}
	return cfg
}

// randomList returns rules like Docker's lists of socket families: one
// syscall, one action, "arg == value" with several values.
func randomList(rng *rand.Rand) []specs.LinuxSyscall {
	name := randomNames[rng.IntN(len(randomNames))]
	act, errno := randomAction(rng)
	list := make([]specs.LinuxSyscall, 2+rng.IntN(8))
	for i := range list {
		list[i] = specs.LinuxSyscall{Names: []string{name}, Action: act, ErrnoRet: errno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: randomValue(rng), Op: specs.OpEqualTo}}}
	}
	return list
}

func mustArch(t testing.TB, name specs.Arch) archSpec {
	t.Helper()
	a, ok := lookupArch(name)
	if !ok {
		t.Fatalf("no syscall table for %s", name)
	}
	return a
}

// randomInput returns a system call of one of the host's ABIs (or of a
// foreign one), usually of a syscall the profile names.
func randomInput(t testing.TB, rng *rand.Rand, cfg *specs.LinuxSeccomp, h host) seccompData {
	names := append([]specs.Arch{h.native}, h.compat...)
	a := mustArch(t, names[rng.IntN(len(names))])
	d := seccompData{arch: a.audit}
	switch rng.IntN(10) {
	case 0:
		d.arch = unix.AUDIT_ARCH_PPC64LE
	case 1:
		d.nr = rng.Uint32()
	case 2:
		d.nr = a.nrBase | uint32(rng.IntN(1100))
	default:
		sc := cfg.Syscalls[rng.IntN(len(cfg.Syscalls))]
		n, ok := a.syscalls().nr(sc.Names[rng.IntN(len(sc.Names))])
		if !ok {
			n = a.nrBase
		}
		d.nr = n + uint32(rng.IntN(3)) - 1
	}
	for i := range d.args {
		d.args[i] = randomValue(rng)
	}
	return d
}
