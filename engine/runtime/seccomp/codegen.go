package seccomp

import (
	"cmp"
	"math"
	"slices"

	"golang.org/x/sys/unix"
)

// Offsets in struct seccomp_data. Arguments are 64-bit words in host byte
// order; both supported hosts (amd64, arm64) are little-endian, so the low
// half comes first.
const (
	offsetNr   = 0
	offsetArch = 4
	offsetArgs = 16
)

func argLow(i uint) uint32  { return offsetArgs + 8*uint32(i) }
func argHigh(i uint) uint32 { return argLow(i) + 4 }

// badArchAction is what happens to a system call of an ABI the filter does
// not handle: libseccomp's default, which runc keeps.
const badArchAction = unix.SECCOMP_RET_KILL_THREAD

// generate builds the filter program:
//
//	ld  arch
//	jeq AUDIT_ARCH_A -> a ; jeq AUDIT_ARCH_B -> b ; ...
//	ret KILL_THREAD
//	a: ld nr ; binary search over A's intervals, leaves return or test args
//	b: ...
//
// ABIs sharing an AUDIT_ARCH value (x86_64 and x32) share one search,
// split by syscall number.
func generate(plans []archPlan) *program {
	groups := groupByAudit(plans)
	p := &program{}
	entries := make([]label, len(groups))
	p.load(offsetArch)
	for i, g := range groups {
		entries[i] = p.newLabel()
		next := p.newLabel()
		p.jump(opJeq, g.audit, entries[i], next)
		p.bind(next)
	}
	p.ret(badArchAction)
	for i, g := range groups {
		p.bind(entries[i])
		p.load(offsetNr)
		emitSearch(p, g.intervals)
	}
	return p
}

// auditGroup is the number space of one AUDIT_ARCH value.
type auditGroup struct {
	audit     uint32
	intervals []interval // sorted, covering 0 to 2^32-1
}

// groupByAudit merges the plans of ABIs sharing an AUDIT_ARCH value, in
// the order the values first appear.
func groupByAudit(plans []archPlan) []auditGroup {
	var groups []auditGroup
	members := make(map[uint32][]archPlan)
	for _, pl := range plans {
		if _, seen := members[pl.arch.audit]; !seen {
			groups = append(groups, auditGroup{audit: pl.arch.audit})
		}
		members[pl.arch.audit] = append(members[pl.arch.audit], pl)
	}
	for i := range groups {
		groups[i].intervals = joinPlans(members[groups[i].audit])
	}
	return groups
}

// joinPlans concatenates the intervals of ABIs sharing an AUDIT_ARCH value.
// Numbers none of them covers (x32's, when only x86_64 is allowed) get the
// bad-arch action.
func joinPlans(plans []archPlan) []interval {
	slices.SortFunc(plans, func(x, y archPlan) int { return cmp.Compare(x.arch.nrFirst, y.arch.nrFirst) })
	var out []interval
	var next uint64
	for _, pl := range plans {
		if uint64(pl.arch.nrFirst) > next {
			out = append(out, interval{first: uint32(next), outcome: outcome{ret: badArchAction}})
		}
		out = append(out, pl.intervals...)
		next = uint64(pl.arch.nrLast) + 1
	}
	if next <= math.MaxUint32 {
		out = append(out, interval{first: uint32(next), outcome: outcome{ret: badArchAction}})
	}
	return out
}

// emitSearch emits a binary search for the interval holding A (the
// syscall number): each node compares A with the first number of its right
// half. The intervals are sorted and the first starts at A's lowest
// possible value.
func emitSearch(p *program, intervals []interval) {
	if len(intervals) == 1 {
		emitOutcome(p, intervals[0].outcome)
		return
	}
	mid := len(intervals) / 2
	left, right := p.newLabel(), p.newLabel()
	p.jump(opJge, intervals[mid].first, right, left)
	p.bind(left)
	emitSearch(p, intervals[:mid])
	p.bind(right)
	emitSearch(p, intervals[mid:])
}

func emitOutcome(p *program, o outcome) {
	if o.calls == nil {
		p.ret(o.ret)
		return
	}
	emitRules(p, o.calls)
}

// emitRules tests a syscall's conditional rules in order and returns the
// action of the first that matches, or the fallback.
func emitRules(p *program, sc *syscallPlan) {
	for rules := sc.rules; len(rules) > 0; {
		n := equalityRun(rules, sc.args32)
		if n > 1 {
			emitEqualityRun(p, rules[:n], sc.args32)
		} else {
			emitRule(p, rules[0], sc.args32)
		}
		rules = rules[n:]
	}
	p.ret(sc.fallback)
}

// emitRule tests one rule and returns its action if it matches.
func emitRule(p *program, r condRule, args32 bool) {
	next := p.newLabel()
	for _, c := range r.conds {
		emitCondition(p, c, args32, next)
	}
	p.ret(r.action)
	p.bind(next)
}

// isEquality reports whether r is a single "arg == value" test.
func isEquality(r condRule) bool {
	return len(r.conds) == 1 && r.conds[0].op == opJeq && !r.conds[0].negate &&
		r.conds[0].mask == math.MaxUint64
}

// equalityRun returns how many rules, from the first, form a run that
// emitEqualityRun can test at once: "arg == value" rules on one argument
// with one action and, for 64-bit arguments, one high word (Docker's lists
// of socket families and personalities). Their order does not matter.
func equalityRun(rules []condRule, args32 bool) int {
	first := rules[0]
	if !isEquality(first) {
		return 1
	}
	n := 1
	for ; n < len(rules); n++ {
		r := rules[n]
		if !isEquality(r) || r.action != first.action || r.conds[0].arg != first.conds[0].arg ||
			!args32 && r.conds[0].value>>32 != first.conds[0].value>>32 {
			break
		}
	}
	return n
}

// emitEqualityRun tests a run of equality rules with one load of the
// argument and one jump per value.
func emitEqualityRun(p *program, rules []condRule, args32 bool) {
	arg, hi := rules[0].conds[0].arg, uint32(rules[0].conds[0].value>>32)
	match, next := p.newLabel(), p.newLabel()
	if !args32 {
		low := p.newLabel()
		p.load(argHigh(arg))
		p.jump(opJeq, hi, low, next)
		p.bind(low)
	}
	p.load(argLow(arg))
	last := len(rules) - 1
	for _, r := range rules[:last] {
		other := p.newLabel()
		p.jump(opJeq, uint32(r.conds[0].value), match, other)
		p.bind(other)
	}
	p.jump(opJeq, uint32(rules[last].conds[0].value), match, next)
	p.bind(match)
	p.ret(rules[0].action)
	p.bind(next)
}

// emitCondition emits a test of c that falls through when it holds and
// jumps to fail when it does not.
func emitCondition(p *program, c condition, args32 bool, fail label) {
	pass := p.newLabel()
	yes, no := pass, fail
	if c.negate {
		yes, no = fail, pass
	}
	if args32 {
		emitCompare32(p, c, yes, no)
	} else {
		emitCompare64(p, c, yes, no)
	}
	p.bind(pass)
}

// emitCompare32 compares the low word of the argument only.
func emitCompare32(p *program, c condition, yes, no label) {
	p.load(argLow(c.arg))
	emitMask(p, uint32(c.mask))
	p.jump(c.op, uint32(c.value), yes, no)
}

// emitCompare64 compares a 64-bit argument one 32-bit word at a time.
// Equality needs both words equal; for an ordering the high words decide
// unless they are equal, and then the low words do.
func emitCompare64(p *program, c condition, yes, no label) {
	hi, lo := uint32(c.value>>32), uint32(c.value)
	low := p.newLabel()
	switch {
	case c.op == opJeq && c.mask>>32 == 0:
		// A mask without high bits (Docker's clone flags): the high word
		// cannot differ, as value is masked too.
	case c.op == opJeq:
		p.load(argHigh(c.arg))
		emitMask(p, uint32(c.mask>>32))
		p.jump(opJeq, hi, low, no)
	default:
		notAbove := p.newLabel()
		p.load(argHigh(c.arg))
		p.jump(opJgt, hi, yes, notAbove)
		p.bind(notAbove)
		p.jump(opJeq, hi, low, no)
	}
	p.bind(low)
	p.load(argLow(c.arg))
	if c.op == opJeq {
		emitMask(p, uint32(c.mask))
	}
	p.jump(c.op, lo, yes, no)
}

// emitMask ANDs A with mask, unless that changes nothing.
func emitMask(p *program, mask uint32) {
	if mask != math.MaxUint32 {
		p.and(mask)
	}
}
