package seccomp

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// maxArgs is the number of system call arguments seccomp_data carries.
const maxArgs = 6

// flagTSync is the seccomp flag that applies a filter to every thread of
// the process; the runtime-spec package has no constant for it.
const flagTSync specs.LinuxSeccompFlag = "SECCOMP_FILTER_FLAG_TSYNC"

// maxErrno is the largest errno the kernel returns from a filter
// (MAX_ERRNO; larger SECCOMP_RET_ERRNO data is clamped to it).
const maxErrno = 4095

// profile is an OCI seccomp config checked and put into the form the code
// generator uses; it does not depend on the architecture yet.
type profile struct {
	defaultAction uint32 // SECCOMP_RET_* value, data included
	rules         []syscallRule
	flags         uintptr // SECCOMP_FILTER_FLAG_* passed to seccomp(2)

	// enosys enables runc's -ENOSYS stub: system calls numbered above every
	// syscall the profile names fail with ENOSYS instead of the default
	// action, so that programs fall back from syscalls newer than the
	// profile. runc skips it when the default action lets calls through.
	enosys bool
}

// syscallRule is one entry of the profile's syscall list.
type syscallRule struct {
	names  []string
	action uint32

	// alternatives are ORed; the conditions of one alternative are ANDed. An
	// unconditional rule has a single empty alternative.
	alternatives [][]condition
}

// condition compares one system call argument: (arg & mask) op value, or
// the negation of that when negate is set. op is opJeq, opJgt or opJge
// (unsigned); mask is all ones except for SCMP_CMP_MASKED_EQ.
type condition struct {
	arg    uint
	op     uint16
	negate bool
	mask   uint64
	value  uint64
}

// parseProfile checks cfg and converts it.
func parseProfile(cfg *specs.LinuxSeccomp) (*profile, error) {
	if cfg == nil {
		return nil, errors.New("seccomp: nil profile")
	}
	if cfg.ListenerPath != "" {
		return nil, errors.New("seccomp: listenerPath (SCMP_ACT_NOTIFY) is not supported")
	}
	def, err := parseAction(cfg.DefaultAction, cfg.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("seccomp: default action: %w", err)
	}
	flags, err := parseFlags(cfg.Flags)
	if err != nil {
		return nil, err
	}
	p := &profile{
		defaultAction: def,
		flags:         flags,
		enosys:        !passesThrough(cfg.DefaultAction),
		rules:         make([]syscallRule, 0, len(cfg.Syscalls)),
	}
	for i, sc := range cfg.Syscalls {
		r, err := parseSyscall(sc)
		if err != nil {
			return nil, fmt.Errorf("seccomp: syscalls[%d] %v: %w", i, sc.Names, err)
		}
		p.rules = append(p.rules, r)
	}
	return p, nil
}

func parseSyscall(sc specs.LinuxSyscall) (syscallRule, error) {
	if slices.Contains(sc.Names, "") {
		return syscallRule{}, errors.New("empty syscall name")
	}
	action, err := parseAction(sc.Action, sc.ErrnoRet)
	if err != nil {
		return syscallRule{}, err
	}
	alternatives, err := parseArgs(sc.Args)
	if err != nil {
		return syscallRule{}, err
	}
	return syscallRule{names: sc.Names, action: action, alternatives: alternatives}, nil
}

// parseArgs turns a rule's argument list into alternatives the way runc
// does: comparisons of different arguments are ANDed, but if one argument is
// compared more than once every comparison becomes a rule of its own (ORed),
// the "old behaviour" Docker's profile relies on.
func parseArgs(args []specs.LinuxSeccompArg) ([][]condition, error) {
	if len(args) == 0 {
		return [][]condition{nil}, nil
	}
	conds := make([]condition, 0, len(args))
	var seen [maxArgs]int
	repeated := false
	for _, a := range args {
		c, err := parseArg(a)
		if err != nil {
			return nil, err
		}
		seen[c.arg]++
		repeated = repeated || seen[c.arg] > 1
		conds = append(conds, c)
	}
	if !repeated {
		return [][]condition{conds}, nil
	}
	alternatives := make([][]condition, len(conds))
	for i, c := range conds {
		alternatives[i] = []condition{c}
	}
	return alternatives, nil
}

func parseArg(a specs.LinuxSeccompArg) (condition, error) {
	if a.Index >= maxArgs {
		return condition{}, fmt.Errorf("argument index %d out of range (0-%d)", a.Index, maxArgs-1)
	}
	c := condition{arg: a.Index, mask: math.MaxUint64, value: a.Value}
	switch a.Op {
	case specs.OpEqualTo:
		c.op = opJeq
	case specs.OpNotEqual:
		c.op, c.negate = opJeq, true
	case specs.OpGreaterThan:
		c.op = opJgt
	case specs.OpGreaterEqual:
		c.op = opJge
	case specs.OpLessThan: // not >=
		c.op, c.negate = opJge, true
	case specs.OpLessEqual: // not >
		c.op, c.negate = opJgt, true
	case specs.OpMaskedEqual:
		// libseccomp masks the expected value too.
		c.op, c.mask, c.value = opJeq, a.Value, a.ValueTwo&a.Value
	default:
		return condition{}, fmt.Errorf("unknown operator %q", a.Op)
	}
	return c, nil
}

// parseAction returns the filter return value of an OCI action. errnoRet
// is only meaningful for SCMP_ACT_ERRNO and SCMP_ACT_TRACE, whose data
// defaults to EPERM as in runc.
func parseAction(act specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	if errnoRet != nil && act != specs.ActErrno && act != specs.ActTrace {
		return 0, fmt.Errorf("errnoRet is only valid with %s and %s, not %q", specs.ActErrno, specs.ActTrace, act)
	}
	switch act {
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	case specs.ActErrno:
		errno, err := actionData(errnoRet, uint32(unix.EPERM), maxErrno)
		if err != nil {
			return 0, err
		}
		return unix.SECCOMP_RET_ERRNO | errno, nil
	case specs.ActTrace:
		msg, err := actionData(errnoRet, uint32(unix.EPERM), unix.SECCOMP_RET_DATA)
		if err != nil {
			return 0, err
		}
		return unix.SECCOMP_RET_TRACE | msg, nil
	case specs.ActNotify:
		return 0, errors.New("SCMP_ACT_NOTIFY is not supported")
	}
	return 0, fmt.Errorf("unknown action %q", act)
}

// actionData returns the data of an action: errnoRet, or def when it is
// unset.
func actionData(errnoRet *uint, def, limit uint32) (uint32, error) {
	if errnoRet == nil {
		return def, nil
	}
	if *errnoRet > uint(limit) {
		return 0, fmt.Errorf("errnoRet %d out of range (0-%d)", *errnoRet, limit)
	}
	return uint32(*errnoRet), nil
}

// passesThrough reports whether a default action lets system calls run
// (possibly after logging or tracing); runc adds no -ENOSYS stub then.
func passesThrough(act specs.LinuxSeccompAction) bool {
	return act == specs.ActAllow || act == specs.ActLog || act == specs.ActTrace
}

// parseFlags returns the seccomp(2) flags of the profile. TSYNC is ignored
// (Install loads the filter on the calling thread only, which then execs).
func parseFlags(flags []specs.LinuxSeccompFlag) (uintptr, error) {
	var bits uintptr
	for _, f := range flags {
		switch f {
		case specs.LinuxSeccompFlagLog:
			bits |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			bits |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		case flagTSync:
		default:
			return 0, fmt.Errorf("seccomp: unsupported flag %q", f)
		}
	}
	return bits, nil
}
