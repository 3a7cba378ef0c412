package seccomp

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkDefault measures compiling Docker's default profile from
// scratch (what a container start pays on a cache miss): building the
// profile with moby/profiles and compiling it.
func BenchmarkDefault(b *testing.B) {
	caps := canonicalCaps(defaultCaps)
	var f *Filter
	for b.Loop() {
		var err error
		if f, err = compileDefault(caps); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(f.Len()), "insns")
}

// BenchmarkDefaultCached measures Default when the capability set was
// compiled before.
func BenchmarkDefaultCached(b *testing.B) {
	if _, err := Default(defaultCaps); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Default(defaultCaps); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompile measures the compiler alone on the default profile.
func BenchmarkCompile(b *testing.B) {
	cfg, err := defaultProfile(canonicalCaps(defaultCaps))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Compile(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDefaultPathLength reports how many instructions the kernel runs per
// system call under the default filter: the cost of the filter on every
// syscall the container makes.
func TestDefaultPathLength(t *testing.T) {
	f, err := Default(defaultCaps)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range hostABIs(t) {
		longest, total, calls := 0, 0, 0
		for name, n := range a.table.SyscallNames {
			if _, ok := a.syscalls().nr(name); !ok || n < 0 {
				continue
			}
			steps := pathLength(f, seccompData{nr: uint32(n) | a.nrBase, arch: a.audit})
			longest, total, calls = max(longest, steps), total+steps, calls+1
		}
		// socket(2) with a denied family tries every allowed one.
		socket := pathLength(f, seccompData{nr: nr(t, a, "socket"), arch: a.audit, args: [6]uint64{unix.AF_VSOCK + 100}})
		t.Logf("%s: %d syscalls without arguments: %.1f instructions on average, %d at most; socket(2): %d",
			a.name, calls, float64(total)/float64(calls), longest, socket)
		if longest > 32 || socket > 256 {
			t.Errorf("%s: a syscall runs %d instructions, socket(2) %d", a.name, longest, socket)
		}
	}
}

// pathLength counts the instructions f runs for d.
func pathLength(f *Filter, d seccompData) int {
	data := d.bytes()
	var acc uint32
	for pc, steps := 0, 1; pc < len(f.prog); steps++ {
		in := f.prog[pc]
		pc++
		switch in.Code {
		case opLoadWord:
			acc = binary.BigEndian.Uint32(data[in.K:])
		case opAnd:
			acc &= in.K
		case opRet:
			return steps
		case opJump:
			pc += int(in.K)
		default:
			taken := map[uint16]bool{opJeq: acc == in.K, opJgt: acc > in.K, opJge: acc >= in.K}[in.Code]
			if taken {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		}
	}
	return len(f.prog)
}
