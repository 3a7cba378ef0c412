package cgroup

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// Set applies r as the container's complete set of limits: a zero field
// removes its limit. docker update merges its change into the container's
// configuration and passes the result.
//
// A limit whose controller the host lacks is errdefs.ErrNotImplemented. A
// value the kernel refuses is errdefs.ErrInvalidArgument naming the file and
// the value. v1 refuses a memory limit below the current usage (EBUSY),
// while v2 reclaims memory down to it and OOM-kills the container's
// processes if it cannot. Set stops at the first error and keeps the limits
// applied before it.
func (m *Manager) Set(r Resources) error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("set limits of %s: %w", m.id, err)
	}
	if err := m.setMemory(r); err != nil {
		return fmt.Errorf("set memory limit of %s: %w", m.id, err)
	}
	if err := m.setCPU(r); err != nil {
		return fmt.Errorf("set CPU limit of %s: %w", m.id, err)
	}
	if err := m.setPids(r); err != nil {
		return fmt.Errorf("set pids limit of %s: %w", m.id, err)
	}
	return nil
}

func missing(controller string) error {
	return errdefs.ErrNotImplemented.WithMessage("no " + controller + " controller on this host")
}

func (m *Manager) setMemory(r Resources) error {
	dir, v2, ok := m.controller("memory")
	switch {
	case !ok && r.Memory == 0: // MemorySwap needs Memory
		return nil
	case !ok:
		return missing("memory")
	case v2:
		return setMemoryV2(dir, r)
	}
	err := setMemoryV1(dir, r)
	if errors.Is(err, unix.EBUSY) {
		if usage, uerr := readUint(dir, "memory.usage_in_bytes"); uerr == nil {
			err = fmt.Errorf("%w (the usage, %d bytes, is above it)", err, usage)
		}
	}
	return err
}

func setMemoryV1(dir string, r Resources) error {
	const limitFile, swapFile = "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"
	limit := strconv.FormatInt(max(r.Memory, 0), 10)
	if r.Memory == 0 {
		limit = "-1"
	}
	if !exists(dir, swapFile) { // no swap accounting (swapaccount=0)
		return writeLimit(dir, limitFile, limit)
	}
	swap := r.swapLimit()
	current, err := readUint(dir, swapFile)
	if err != nil {
		return err
	}
	writes := []struct{ name, value string }{
		{limitFile, limit},
		{swapFile, strconv.FormatInt(swap, 10)},
	}
	// The kernel keeps memory.limit_in_bytes at most memory.memsw.limit_in_bytes
	// after every write: raise memory+swap first, lower it last.
	if swap == -1 || uint64(swap) >= current {
		slices.Reverse(writes)
	}
	for _, w := range writes {
		if err := writeLimit(dir, w.name, w.value); err != nil {
			return err
		}
	}
	return nil
}

func setMemoryV2(dir string, r Resources) error {
	if err := writeLimit(dir, "memory.max", maxOr(r.Memory)); err != nil {
		return err
	}
	if !exists(dir, "memory.swap.max") { // no swap accounting
		return nil
	}
	swap := "max" // v2 limits swap alone, not memory+swap
	if s := r.swapLimit(); s != -1 {
		swap = strconv.FormatInt(s-r.Memory, 10)
	}
	return writeLimit(dir, "memory.swap.max", swap)
}

func (m *Manager) setCPU(r Resources) error {
	dir, v2, ok := m.controller("cpu")
	switch {
	case !ok && r.NanoCPUs == 0 && r.CPUShares == 0:
		return nil
	case !ok:
		return missing("cpu")
	case v2:
		quota := "max"
		if q := r.cfsQuota(); q > 0 {
			quota = strconv.FormatInt(q, 10)
		}
		if err := writeLimit(dir, "cpu.max", quota+" "+strconv.Itoa(cfsPeriod)); err != nil {
			return err
		}
		return writeLimit(dir, "cpu.weight", strconv.FormatInt(cpuWeight(r.shares()), 10))
	}
	for _, w := range []struct{ name, value string }{
		{"cpu.cfs_period_us", strconv.Itoa(cfsPeriod)},
		{"cpu.cfs_quota_us", strconv.FormatInt(r.cfsQuota(), 10)},
		{"cpu.shares", strconv.FormatInt(r.shares(), 10)},
	} {
		if err := writeLimit(dir, w.name, w.value); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) setPids(r Resources) error {
	dir, _, ok := m.controller("pids")
	switch {
	case !ok && r.PidsLimit <= 0:
		return nil
	case !ok:
		return missing("pids")
	}
	return writeLimit(dir, "pids.max", maxOr(r.PidsLimit)) // same file on v1 and v2
}

// maxOr formats a limit for v2 (and v1 pids.max): n, or "max" for n <= 0.
func maxOr(n int64) string {
	if n <= 0 {
		return "max"
	}
	return strconv.FormatInt(n, 10)
}

// defaultDeviceRules are the device rules of a container, Docker's (runc's
// AllowedDevices), after denying everything.
func defaultDeviceRules() []string {
	return []string{
		"c *:* m",      // mknod of any device; opening it stays denied
		"b *:* m",      //
		"c 1:3 rwm",    // null
		"c 1:5 rwm",    // zero
		"c 1:7 rwm",    // full
		"c 1:8 rwm",    // random
		"c 1:9 rwm",    // urandom
		"c 5:0 rwm",    // tty
		"c 5:1 rwm",    // console
		"c 5:2 rwm",    // ptmx
		"c 136:* rwm",  // pts
		"c 10:200 rwm", // tun
	}
}

// setDevicesV1 gives a v1 devices cgroup the default rules.
func setDevicesV1(dir string) error {
	if err := writeFile(dir, "devices.deny", "a"); err != nil {
		return err
	}
	for _, rule := range defaultDeviceRules() {
		if err := writeFile(dir, "devices.allow", rule); err != nil {
			return err
		}
	}
	return nil
}
