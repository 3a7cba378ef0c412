package cgroup

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Stats is one sample of a container's usage, with what docker stats needs
// to compute its percentages.
type Stats struct {
	// CPUUsage is the CPU time the container used, in ns (v1
	// cpuacct.usage; v2 cpu.stat usage_usec).
	CPUUsage uint64
	// CPUPerCore is CPUUsage per CPU, in ns, on v1 (cpuacct.usage_percpu);
	// nil on v2.
	CPUPerCore []uint64
	// SystemCPU is the CPU time of the whole host, in ns, from /proc/stat,
	// counted as Docker does (user, nice, system, idle, iowait, irq and
	// softirq).
	SystemCPU uint64
	// OnlineCPUs is the number of CPUs online on the host.
	OnlineCPUs int
	// MemoryUsage is the memory the container uses, in bytes, page cache
	// included.
	MemoryUsage uint64
	// MemoryLimit is the container's memory limit in bytes, or the host's
	// memory when that is less (when there is no limit), as docker stats
	// shows it.
	MemoryLimit uint64
	// MemoryCache is the inactive page cache that docker stats subtracts
	// from MemoryUsage (v1 total_inactive_file, v2 inactive_file).
	MemoryCache uint64
	// MemoryStats is memory.stat as the kernel reports it.
	MemoryStats map[string]uint64
	// PidsCurrent is the number of tasks in the container.
	PidsCurrent uint64
	// PidsLimit is the most tasks allowed, 0 for no limit.
	PidsLimit uint64
}

// Stats samples the container's usage. Counters of a controller the host
// lacks stay zero.
func (m *Manager) Stats() (Stats, error) {
	var s Stats
	var err error
	if s.SystemCPU, err = systemCPU(); err != nil {
		return Stats{}, fmt.Errorf("stats of %s: %w", m.id, err)
	}
	s.OnlineCPUs = onlineCPUs()
	for _, c := range []struct {
		name    string
		collect func(*Stats) error
	}{
		{"CPU", m.cpuStats},
		{"memory", m.memoryStats},
		{"pids", m.pidsStats},
	} {
		if err := c.collect(&s); err != nil {
			return Stats{}, fmt.Errorf("%s stats of %s: %w", c.name, m.id, err)
		}
	}
	return s, nil
}

func (m *Manager) cpuStats(s *Stats) error {
	if dir, ok := m.v1["cpuacct"]; ok {
		usage, err := readUint(dir, "cpuacct.usage")
		if err != nil {
			return err
		}
		s.CPUUsage = usage
		if !exists(dir, "cpuacct.usage_percpu") {
			return nil
		}
		perCPU, err := readFields(dir, "cpuacct.usage_percpu")
		if err != nil {
			return err
		}
		for _, f := range perCPU {
			n, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return fmt.Errorf("parse %s/cpuacct.usage_percpu: %w", dir, err)
			}
			s.CPUPerCore = append(s.CPUPerCore, n)
		}
		return nil
	}
	if m.unified == "" {
		return nil
	}
	// v2's cpu.stat comes with every cgroup, with or without the cpu
	// controller.
	stat, err := readKeyValues(m.unified, "cpu.stat")
	if err != nil {
		return err
	}
	s.CPUUsage = stat["usage_usec"] * 1000
	return nil
}

func (m *Manager) memoryStats(s *Stats) error {
	dir, v2, ok := m.controller("memory")
	if !ok {
		return nil
	}
	usageFile, limitFile, cacheKey := "memory.usage_in_bytes", "memory.limit_in_bytes", "total_inactive_file"
	if v2 {
		usageFile, limitFile, cacheKey = "memory.current", "memory.max", "inactive_file"
	}
	usage, err := readUint(dir, usageFile)
	if err != nil {
		return err
	}
	limit, err := readUint(dir, limitFile)
	if err != nil {
		return err
	}
	stat, err := readKeyValues(dir, "memory.stat")
	if err != nil {
		return err
	}
	s.MemoryUsage = usage
	s.MemoryLimit = limit
	if host := hostMemory(); host > 0 {
		s.MemoryLimit = min(limit, host)
	}
	s.MemoryCache = stat[cacheKey]
	s.MemoryStats = stat
	return nil
}

func (m *Manager) pidsStats(s *Stats) error {
	dir, _, ok := m.controller("pids")
	if !ok {
		return nil
	}
	current, err := readUint(dir, "pids.current")
	if err != nil {
		return err
	}
	limit, err := readUint(dir, "pids.max")
	if err != nil {
		return err
	}
	s.PidsCurrent = current
	if limit != math.MaxUint64 {
		s.PidsLimit = limit
	}
	return nil
}

// OOMKilled reports whether the kernel's OOM killer killed a process of
// the container (the oom_kill count of v1 memory.oom_control, v2
// memory.events). It is false on a host without the memory controller.
func (m *Manager) OOMKilled() (bool, error) {
	dir, v2, ok := m.controller("memory")
	if !ok {
		return false, nil
	}
	file := "memory.oom_control"
	if v2 {
		file = "memory.events"
	}
	events, err := readKeyValues(dir, file)
	if err != nil {
		return false, fmt.Errorf("read OOM kills of %s: %w", m.id, err)
	}
	return events["oom_kill"] > 0, nil
}

// userHZ is the unit of /proc/stat: USER_HZ, 100 on every Linux ABI.
const userHZ = 100

// systemCPU returns the host's CPU time in ns from /proc/stat.
func systemCPU() (uint64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseSystemCPU(string(b))
}

// parseSystemCPU sums the first seven fields of /proc/stat's "cpu" line,
// as Docker does.
func parseSystemCPU(procStat string) (uint64, error) {
	for line := range strings.Lines(procStat) {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "cpu" {
			continue
		}
		if len(fields) < 8 {
			return 0, fmt.Errorf("parse /proc/stat: short cpu line %q", strings.TrimSpace(line))
		}
		var ticks uint64
		for _, f := range fields[1:8] {
			n, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse /proc/stat: %w", err)
			}
			ticks += n
		}
		return ticks * (1e9 / userHZ), nil
	}
	return 0, fmt.Errorf("parse /proc/stat: no cpu line")
}

// onlineCPUs counts the host's online CPUs, falling back to the CPUs this
// process may run on.
func onlineCPUs() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return runtime.NumCPU()
	}
	n, err := parseCPUList(strings.TrimSpace(string(b)))
	if err != nil || n == 0 {
		return runtime.NumCPU()
	}
	return n
}

// parseCPUList counts the CPUs of a kernel CPU list such as "0-3,8,10-11".
func parseCPUList(s string) (int, error) {
	n := 0
	for part := range strings.SplitSeq(s, ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		first, err := strconv.Atoi(lo)
		if err != nil {
			return 0, fmt.Errorf("parse CPU list %q: %w", s, err)
		}
		last, err := strconv.Atoi(hi)
		if err != nil {
			return 0, fmt.Errorf("parse CPU list %q: %w", s, err)
		}
		if last < first {
			return 0, fmt.Errorf("parse CPU list %q: bad range %q", s, part)
		}
		n += last - first + 1
	}
	return n, nil
}

// hostMemory is the host's RAM in bytes, 0 if unknown.
func hostMemory() uint64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}
