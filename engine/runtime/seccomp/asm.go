package seccomp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Classic BPF opcodes the generator uses.
const (
	opLoadWord = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	opAnd      = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	opRet      = unix.BPF_RET | unix.BPF_K
	opJump     = unix.BPF_JMP | unix.BPF_JA
	opJeq      = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	opJgt      = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
	opJge      = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
)

// maxJumpOffset is the reach of a conditional jump (an 8-bit offset).
const maxJumpOffset = 255

// classMask selects the instruction class bits of an opcode (BPF_CLASS).
const classMask = 0x07

// label names a position in a program under construction.
type label int

// insn is an instruction whose jump targets are labels.
type insn struct {
	op     uint16
	k      uint32
	jt, jf label // conditional jumps; jt alone for opJump
}

func (in insn) conditional() bool {
	return in.op&classMask == unix.BPF_JMP && in.op != opJump
}

// program builds a BPF program with symbolic jumps. BPF jumps only go
// forward, so every label must be bound after the jumps that use it.
type program struct {
	insns  []insn
	labels []int // label -> index of the instruction it precedes; -1 unbound
}

func (p *program) newLabel() label {
	p.labels = append(p.labels, -1)
	return label(len(p.labels) - 1)
}

// bind places l before the next instruction.
func (p *program) bind(l label) { p.labels[l] = len(p.insns) }

func (p *program) load(offset uint32) { p.insns = append(p.insns, insn{op: opLoadWord, k: offset}) }
func (p *program) and(mask uint32)    { p.insns = append(p.insns, insn{op: opAnd, k: mask}) }
func (p *program) ret(value uint32)   { p.insns = append(p.insns, insn{op: opRet, k: value}) }

// jump adds a conditional jump: to jt if the comparison of A with k holds,
// to jf otherwise.
func (p *program) jump(op uint16, k uint32, jt, jf label) {
	p.insns = append(p.insns, insn{op: op, k: k, jt: jt, jf: jf})
}

// far records which targets of a conditional jump are out of its 8-bit
// reach and go through an unconditional "ja" placed right after it.
type far struct{ jt, jf bool }

func (f far) size() int {
	n := 1
	if f.jt {
		n++
	}
	if f.jf {
		n++
	}
	return n
}

// assemble resolves the labels. A conditional jump whose target is more
// than 255 instructions away is relaxed: it jumps to a trampoline, an
// unconditional jump (32-bit offset) inserted after it. Inserting
// trampolines moves code, so relaxation repeats until nothing changes; it
// only ever turns near jumps into far ones, so it terminates.
func (p *program) assemble() ([]unix.SockFilter, error) {
	for l, at := range p.labels {
		if at < 0 {
			return nil, fmt.Errorf("seccomp: internal error: label %d never bound", l)
		}
	}
	fars := make([]far, len(p.insns))
	for {
		pos := p.layout(fars)
		changed, err := p.relax(pos, fars)
		if err != nil {
			return nil, err
		}
		if !changed {
			return p.emit(pos, fars)
		}
	}
}

// layout returns the final position of every instruction, plus the
// program length at the end.
func (p *program) layout(fars []far) []int {
	pos := make([]int, len(p.insns)+1)
	for i := range p.insns {
		pos[i+1] = pos[i] + fars[i].size()
	}
	return pos
}

// offset returns the jump offset from an instruction at position from to
// label l: the number of instructions skipped.
func (p *program) offset(pos []int, from int, l label) (int, error) {
	off := pos[p.labels[l]] - from - 1
	if off < 0 {
		return 0, fmt.Errorf("seccomp: internal error: backward jump to label %d", l)
	}
	return off, nil
}

// relax marks the conditional jump targets that are out of reach.
func (p *program) relax(pos []int, fars []far) (changed bool, err error) {
	for i, in := range p.insns {
		if !in.conditional() {
			continue
		}
		if !fars[i].jt {
			off, err := p.offset(pos, pos[i], in.jt)
			if err != nil {
				return false, err
			}
			if off > maxJumpOffset {
				fars[i].jt, changed = true, true
			}
		}
		if !fars[i].jf {
			off, err := p.offset(pos, pos[i], in.jf)
			if err != nil {
				return false, err
			}
			if off > maxJumpOffset {
				fars[i].jf, changed = true, true
			}
		}
	}
	return changed, nil
}

func (p *program) emit(pos []int, fars []far) ([]unix.SockFilter, error) {
	n := pos[len(p.insns)]
	if n > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("seccomp: filter has %d instructions, more than the kernel's limit of %d", n, unix.BPF_MAXINSNS)
	}
	out := make([]unix.SockFilter, 0, n)
	for i, in := range p.insns {
		var err error
		switch {
		case in.op == opJump:
			out, err = p.emitJump(out, pos, pos[i], in.jt)
		case in.conditional():
			out, err = p.emitConditional(out, pos, pos[i], in, fars[i])
		default:
			out = append(out, unix.SockFilter{Code: in.op, K: in.k})
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (p *program) emitJump(out []unix.SockFilter, pos []int, at int, target label) ([]unix.SockFilter, error) {
	off, err := p.offset(pos, at, target)
	if err != nil {
		return nil, err
	}
	return append(out, unix.SockFilter{Code: opJump, K: uint32(off)}), nil
}

// emitConditional emits a conditional jump and its trampolines, laid out
// as: jump, "ja jt" if jt is far, "ja jf" if jf is far.
func (p *program) emitConditional(out []unix.SockFilter, pos []int, at int, in insn, f far) ([]unix.SockFilter, error) {
	jt, err := p.nearOffset(pos, at, in.jt, f.jt, 0)
	if err != nil {
		return nil, err
	}
	jfTrampoline := 0
	if f.jt {
		jfTrampoline = 1
	}
	jf, err := p.nearOffset(pos, at, in.jf, f.jf, jfTrampoline)
	if err != nil {
		return nil, err
	}
	out = append(out, unix.SockFilter{Code: in.op, Jt: jt, Jf: jf, K: in.k})
	if f.jt {
		if out, err = p.emitJump(out, pos, at+1, in.jt); err != nil {
			return nil, err
		}
	}
	if f.jf {
		if out, err = p.emitJump(out, pos, at+1+jfTrampoline, in.jf); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// nearOffset returns the 8-bit offset of a conditional jump target: to its
// trampoline (the trampoline-th instruction after the jump) when it is far.
func (p *program) nearOffset(pos []int, at int, l label, isFar bool, trampoline int) (uint8, error) {
	if isFar {
		return uint8(trampoline), nil
	}
	off, err := p.offset(pos, at, l)
	if err != nil {
		return 0, err
	}
	if off > maxJumpOffset {
		return 0, fmt.Errorf("seccomp: internal error: jump offset %d out of range", off)
	}
	return uint8(off), nil
}
