package seccomp

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestAssembleFarJumps checks the trampolines of a conditional jump whose
// two targets are both out of reach.
func TestAssembleFarJumps(t *testing.T) {
	// The program is: ld nr; jeq 7; pad1 rets; first target; pad2 rets;
	// second target. Targets return 1 (true) and 2 (false).
	for _, c := range []struct {
		name        string
		trueFirst   bool
		pad1, pad2  int
		trampolines int
	}{
		{name: "near", trueFirst: true, pad1: 10, pad2: 10},
		{name: "far true", trueFirst: false, pad1: 0, pad2: 300, trampolines: 1},
		{name: "far false", trueFirst: true, pad1: 0, pad2: 300, trampolines: 1},
		{name: "both far", trueFirst: true, pad1: 300, pad2: 10, trampolines: 2},
		{name: "edge", trueFirst: true, pad1: 0, pad2: 254},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &program{}
			yes, no := p.newLabel(), p.newLabel()
			p.load(offsetNr)
			p.jump(opJeq, 7, yes, no)
			first, second := yes, no
			if !c.trueFirst {
				first, second = no, yes
			}
			target := map[label]uint32{yes: 1, no: 2}
			for range c.pad1 {
				p.ret(0xdead)
			}
			p.bind(first)
			p.ret(target[first])
			for range c.pad2 {
				p.ret(0xbeef)
			}
			p.bind(second)
			p.ret(target[second])
			prog, err := p.assemble()
			if err != nil {
				t.Fatal(err)
			}
			if want := len(p.insns) + c.trampolines; len(prog) != want {
				t.Errorf("got %d instructions, want %d", len(prog), want)
			}
			m := newVM(t, &Filter{prog: prog})
			if got := m.run(t, seccompData{nr: 7}); got != 1 {
				t.Errorf("nr 7: got %#x, want 1", got)
			}
			if got := m.run(t, seccompData{nr: 8}); got != 2 {
				t.Errorf("nr 8: got %#x, want 2", got)
			}
		})
	}
}

func TestAssembleUnboundLabel(t *testing.T) {
	p := &program{}
	l := p.newLabel()
	p.jump(opJeq, 0, l, l)
	p.ret(0)
	if _, err := p.assemble(); err == nil {
		t.Fatal("assembled a jump to an unbound label")
	}
}

func TestAssembleTooLong(t *testing.T) {
	p := &program{}
	for range 4097 {
		p.ret(0)
	}
	if _, err := p.assemble(); err == nil {
		t.Fatal("assembled a program longer than BPF_MAXINSNS")
	}
}

// TestAssembleRandomPrograms assembles random programs full of jumps near
// and far (so that relaxing one jump pushes others out of reach) and checks
// that the assembled code computes what the symbolic program does.
func TestAssembleRandomPrograms(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 40 {
		p := randomProgram(rng, 800+rng.IntN(1200))
		prog, err := p.assemble()
		if err != nil {
			t.Fatal(err)
		}
		m := newVM(t, &Filter{prog: prog})
		for range 300 {
			var d seccompData
			d.nr = uint32(rng.IntN(16))
			d.arch = uint32(rng.IntN(16))
			for i := range d.args {
				d.args[i] = uint64(rng.IntN(16))<<32 | uint64(rng.IntN(16))
			}
			if got, want := m.run(t, d), interpret(p, d); got != want {
				t.Fatalf("input %+v: assembled program returns %#x, symbolic one %#x", d, got, want)
			}
		}
	}
}

// randomProgram returns a program of n instructions: loads, masks, returns
// and conditional jumps to random later positions, near or far.
func randomProgram(rng *rand.Rand, n int) *program {
	p := &program{}
	at := make([]label, n) // at[i] is bound before instruction i
	for i := range at {
		at[i] = p.newLabel()
	}
	target := func(i int) label {
		if rng.IntN(2) == 0 {
			return at[min(n-1, i+1+rng.IntN(8))]
		}
		return at[i+1+rng.IntN(n-1-i)]
	}
	words := []uint32{offsetNr, offsetArch, argLow(0), argHigh(0), argLow(5), argHigh(5)}
	ops := []uint16{opJeq, opJgt, opJge}
	for i := range n {
		p.bind(at[i])
		switch r := rng.IntN(10); {
		case i == n-1 || r == 0:
			p.ret(uint32(i))
		case r == 1:
			p.load(words[rng.IntN(len(words))])
		case r == 2:
			p.and(uint32(rng.IntN(16)))
		default:
			p.jump(ops[rng.IntN(len(ops))], uint32(rng.IntN(16)), target(i), target(i))
		}
	}
	return p
}

// interpret runs a program before assembly, following its labels.
func interpret(p *program, d seccompData) uint32 {
	data := d.bytes()
	var a uint32
	for pc := 0; pc < len(p.insns); {
		in := p.insns[pc]
		pc++
		switch in.op {
		case opLoadWord:
			a = binary.BigEndian.Uint32(data[in.k:])
		case opAnd:
			a &= in.k
		case opRet:
			return in.k
		case opJeq, opJgt, opJge:
			taken := map[uint16]bool{opJeq: a == in.k, opJgt: a > in.k, opJge: a >= in.k}[in.op]
			if taken {
				pc = p.labels[in.jt]
			} else {
				pc = p.labels[in.jf]
			}
		}
	}
	return 0xffffffff // fell off the end: the assembled program cannot
}
