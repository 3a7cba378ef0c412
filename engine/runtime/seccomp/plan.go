package seccomp

import (
	"slices"

	"golang.org/x/sys/unix"
)

// archPlan is what the filter does for one ABI: the syscall number space
// split into consecutive intervals, each with one outcome.
type archPlan struct {
	arch      archSpec
	intervals []interval
}

// interval is a range of syscall numbers starting at first and running to
// the start of the next interval (or the end of the ABI's number space).
type interval struct {
	first uint32
	outcome
}

// outcome is what the filter does for a system call: return a constant, or
// (when calls is not nil) check the argument conditions of calls.
type outcome struct {
	ret   uint32
	calls *syscallPlan
}

// syscallPlan holds the conditional rules of one system call, tried in
// profile order; the first that matches gives the action, and fallback
// applies when none does.
type syscallPlan struct {
	rules    []condRule
	fallback uint32
	args32   bool // compare only the low 32 bits of arguments
}

type condRule struct {
	conds  []condition
	action uint32
}

// syscallState collects the rules of one syscall number while planning.
type syscallState struct {
	unconditional bool
	action        uint32 // when unconditional
	rules         []condRule
}

// planArch resolves the profile's syscall names in one ABI and merges the
// rules per syscall number with libseccomp's semantics (as runc drives it):
//
//   - names the ABI does not have are ignored;
//   - rules whose action is the default action are dropped;
//   - the first unconditional rule of a syscall wins over all its other
//     rules, before or after it;
//   - conditional rules are tried in profile order, and the default action
//     applies when none matches.
//
// With p.enosys, numbers above the largest one the profile names return
// ENOSYS, as runc's stub does.
func planArch(p *profile, a archSpec) archPlan {
	table := a.syscalls()
	states := make(map[uint32]*syscallState)
	var maxNr uint32
	named := false
	for _, r := range p.rules {
		for _, name := range r.names {
			nr, ok := table.nr(name)
			if !ok {
				continue
			}
			named = true
			maxNr = max(maxNr, nr)
			if r.action != p.defaultAction {
				addRule(states, nr, r)
			}
		}
	}
	enosysFrom := uint64(a.nrLast) + 1
	if p.enosys && named {
		enosysFrom = uint64(maxNr) + 1
	}
	return archPlan{arch: a, intervals: buildIntervals(a, states, p.defaultAction, enosysFrom)}
}

func addRule(states map[uint32]*syscallState, nr uint32, r syscallRule) {
	st := states[nr]
	if st == nil {
		st = &syscallState{}
		states[nr] = st
	}
	if st.unconditional {
		return
	}
	for _, alt := range r.alternatives {
		if len(alt) == 0 {
			*st = syscallState{unconditional: true, action: r.action}
			return
		}
		st.rules = append(st.rules, condRule{conds: alt, action: r.action})
	}
}

// buildIntervals covers the ABI's number space [a.nrFirst, a.nrLast] with
// intervals: one per syscall that has rules, the default action in between,
// and ENOSYS from enosysFrom on. Neighbours with the same constant outcome
// are merged.
func buildIntervals(a archSpec, states map[uint32]*syscallState, def uint32, enosysFrom uint64) []interval {
	nrs := make([]uint32, 0, len(states))
	for nr := range states {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)

	var out []interval
	add := func(first uint64, o outcome) {
		if n := len(out); n > 0 && o.calls == nil && out[n-1].calls == nil && out[n-1].ret == o.ret {
			return
		}
		out = append(out, interval{first: uint32(first), outcome: o})
	}
	next := uint64(a.nrFirst)
	for _, nr := range nrs {
		if uint64(nr) > next {
			add(next, outcome{ret: def})
		}
		add(uint64(nr), states[nr].outcome(a, def))
		next = uint64(nr) + 1
	}
	if next < enosysFrom {
		add(next, outcome{ret: def})
		next = enosysFrom
	}
	if next <= uint64(a.nrLast) {
		add(next, outcome{ret: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)})
	}
	return out
}

func (st *syscallState) outcome(a archSpec, def uint32) outcome {
	if st.unconditional {
		return outcome{ret: st.action}
	}
	return outcome{calls: &syscallPlan{rules: st.rules, fallback: def, args32: a.args32}}
}
