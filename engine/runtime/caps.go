package runtime

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dropPrivileges makes the thread the process's user with only the
// process's capabilities, in runc's order:
//
//  1. drop every other capability from the bounding set (needs
//     CAP_SETPCAP, still held);
//  2. with keepcaps on, switch groups, gid and uid: the permitted set
//     survives the switch from uid 0;
//  3. set permitted = effective = the set, inheritable empty
//     (CVE-2022-24769), and clear the ambient set.
//
// The credential calls are raw system calls on this thread alone: Go's
// syscall.Setuid changes every thread of the process, which is useless here
// (only the thread that calls execve survives it) and slower. At execve
// the kernel recomputes the sets: a root process keeps the bounding set, any
// other uid ends with empty permitted and effective sets, as under Docker.
func (p *processSetup) dropPrivileges() error {
	last := lastCap()
	keep, err := p.capabilities(last)
	if err != nil {
		return err
	}
	for c := 0; c <= last; c++ {
		if keep.has(c) {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("drop capability %s from the bounding set: %w", capabilityName(c), err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_KEEPCAPS): %w", err)
	}
	if err := setIDs(p.user); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_KEEPCAPS): %w", err)
	}
	if err := keep.apply(); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear the ambient capabilities: %w", err)
	}
	return nil
}

// capabilities is the set the process keeps: the listed ones, or all of
// them when privileged. A capability the role does not hold itself (the
// engine may run with a reduced bounding set) cannot be given and is left
// out, as is one the running kernel does not know (above last), as runc
// does.
func (p *processSetup) capabilities(last int) (capSet, error) {
	held, err := permittedCaps()
	if err != nil {
		return capSet{}, err
	}
	if p.sec.Privileged {
		return held, nil
	}
	var set capSet
	for _, name := range p.sec.Capabilities {
		c, ok := capabilityNumber(name)
		if !ok {
			return set, invalid("unknown capability %q", name)
		}
		if c <= last && held.has(c) {
			set.add(c)
		}
	}
	return set, nil
}

// permittedCaps is the calling thread's permitted set.
func permittedCaps() (capSet, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return capSet{}, fmt.Errorf("capget: %w", err)
	}
	return capSet{data[0].Permitted, data[1].Permitted}, nil
}

// setIDs sets the supplementary groups, then the gid, then the uid (after
// which the others could no longer be changed).
func setIDs(u execUser) error {
	groups := make([]uint32, len(u.groups))
	for i, g := range u.groups {
		groups[i] = uint32(g)
	}
	var ptr unsafe.Pointer
	if len(groups) > 0 {
		ptr = unsafe.Pointer(&groups[0])
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(ptr), 0); e != 0 {
		return fmt.Errorf("setgroups %v: %w", u.groups, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.gid), uintptr(u.gid), uintptr(u.gid)); e != 0 {
		return fmt.Errorf("setresgid %d: %w", u.gid, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.uid), uintptr(u.uid), uintptr(u.uid)); e != 0 {
		return fmt.Errorf("setresuid %d: %w", u.uid, e)
	}
	return nil
}

// capSet is a set of capabilities, as the kernel's two 32-bit words.
type capSet [2]uint32

func (s *capSet) add(c int)     { s[c/32] |= 1 << (c % 32) }
func (s capSet) has(c int) bool { return s[c/32]&(1<<(c%32)) != 0 }

// apply makes s the thread's permitted and effective sets, with an empty
// inheritable set.
func (s capSet) apply() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: s[0], Permitted: s[0]},
		{Effective: s[1], Permitted: s[1]},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// lastCap is the highest capability number the running kernel knows.
func lastCap() int {
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(string(bytes.TrimSpace(b))); err == nil && n >= 0 && n < 64 {
			return n
		}
	}
	return len(capabilityNames()) - 1
}

// capabilityNames lists the capabilities by number, as
// <linux/capability.h> does.
func capabilityNames() []string {
	return []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
		"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
		"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
		"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
		"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
		"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
		"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
		"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
		"CAP_CHECKPOINT_RESTORE",
	}
}

// capabilityNumber maps "CAP_CHOWN" (or "chown") to its number.
func capabilityNumber(name string) (int, bool) {
	name = strings.ToUpper(name)
	if !strings.HasPrefix(name, "CAP_") {
		name = "CAP_" + name
	}
	c := slices.Index(capabilityNames(), name)
	return c, c >= 0
}

func capabilityName(c int) string {
	if names := capabilityNames(); c < len(names) {
		return names[c]
	}
	return fmt.Sprintf("capability %d", c)
}
