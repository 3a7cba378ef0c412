package cgroup

import (
	"maps"
	"math"
	"testing"

	"github.com/containerd/errdefs"
)

const mib = 1 << 20

func TestResourcesValidate(t *testing.T) {
	tests := []struct {
		name string
		r    Resources
		ok   bool
	}{
		{"zero", Resources{}, true},
		{"docker run -m 64m --cpus 1.5 --pids-limit 100", Resources{Memory: 64 * mib, NanoCPUs: 1_500_000_000, PidsLimit: 100}, true},
		{"no swap", Resources{Memory: 64 * mib, MemorySwap: 64 * mib}, true},
		{"unlimited swap", Resources{Memory: 64 * mib, MemorySwap: -1}, true},
		{"unlimited swap without memory limit", Resources{MemorySwap: -1}, true},
		{"least CPU", Resources{NanoCPUs: 10_000_000}, true},
		{"shares range", Resources{CPUShares: maxShares}, true},
		{"pids -1", Resources{PidsLimit: -1}, true},
		{"negative memory", Resources{Memory: -1}, false},
		{"swap below memory", Resources{Memory: 64 * mib, MemorySwap: 32 * mib}, false},
		{"swap without memory", Resources{MemorySwap: 64 * mib}, false},
		{"swap -2", Resources{Memory: 64 * mib, MemorySwap: -2}, false},
		{"negative CPUs", Resources{NanoCPUs: -1}, false},
		{"below the 1 ms quota", Resources{NanoCPUs: 9_999_999}, false},
		{"negative shares", Resources{CPUShares: -1}, false},
		{"more shares than the kernel takes (clamped)", Resources{CPUShares: maxShares + 1}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.validate()
			switch {
			case tc.ok && err != nil:
				t.Errorf("validate: %v", err)
			case !tc.ok && !errdefs.IsInvalidArgument(err):
				t.Errorf("validate = %v, want an invalid argument", err)
			}
		})
	}
}

func TestResourcesConversions(t *testing.T) {
	tests := []struct {
		r                   Resources
		quota, swap, shares int64
		weight              int64
	}{
		{Resources{}, -1, -1, 1024, 39},
		{Resources{NanoCPUs: 1_500_000_000}, 150_000, -1, 1024, 39},
		{Resources{NanoCPUs: 10_000_000}, 1_000, -1, 1024, 39},
		{Resources{NanoCPUs: 2_000_000_000}, 200_000, -1, 1024, 39},
		{Resources{Memory: 64 * mib}, -1, 128 * mib, 1024, 39},
		{Resources{Memory: 64 * mib, MemorySwap: 64 * mib}, -1, 64 * mib, 1024, 39},
		{Resources{Memory: 64 * mib, MemorySwap: 100 * mib}, -1, 100 * mib, 1024, 39},
		{Resources{Memory: 64 * mib, MemorySwap: -1}, -1, -1, 1024, 39},
		{Resources{Memory: math.MaxInt64}, -1, -1, 1024, 39}, // twice would overflow
		{Resources{CPUShares: 2}, -1, -1, 2, 1},
		{Resources{CPUShares: 1}, -1, -1, 2, 1}, // the kernel's least
		{Resources{CPUShares: 512}, -1, -1, 512, 20},
		{Resources{CPUShares: maxShares}, -1, -1, maxShares, 10000},
		{Resources{CPUShares: 1 << 40}, -1, -1, maxShares, 10000},
	}
	for _, tc := range tests {
		if q := tc.r.cfsQuota(); q != tc.quota {
			t.Errorf("%+v: quota = %d, want %d", tc.r, q, tc.quota)
		}
		if s := tc.r.swapLimit(); s != tc.swap {
			t.Errorf("%+v: swap limit = %d, want %d", tc.r, s, tc.swap)
		}
		if s := tc.r.shares(); s != tc.shares {
			t.Errorf("%+v: shares = %d, want %d", tc.r, s, tc.shares)
		}
		if w := cpuWeight(tc.r.shares()); w != tc.weight {
			t.Errorf("%+v: weight = %d, want %d", tc.r, w, tc.weight)
		}
	}
}

func TestRelPath(t *testing.T) {
	tests := []struct {
		parent, id, want string // want "" means invalid
	}{
		{"skiff", "abc", "skiff/abc"},
		{"/skiff", "abc", "skiff/abc"},
		{"skiff/ci/", "abc", "skiff/ci/abc"},
		{"", "abc", "abc"},
		{"/", "abc", "abc"},
		{"skiff", "", ""},
		{"skiff", ".", ""},
		{"skiff", "..", ""},
		{"skiff", "a/b", ""},
		{"skiff", "a\nb", ""},
		{"../escape", "abc", ""},
		{"skiff/../..", "abc", ""},
		{"skiff//ci", "abc", ""},
		{"skiff/./ci", "abc", ""},
	}
	for _, tc := range tests {
		got, err := relPath(tc.parent, tc.id)
		switch {
		case tc.want == "" && !errdefs.IsInvalidArgument(err):
			t.Errorf("relPath(%q, %q) = %q, %v; want an invalid argument", tc.parent, tc.id, got, err)
		case tc.want != "" && (err != nil || got != tc.want):
			t.Errorf("relPath(%q, %q) = %q, %v; want %q", tc.parent, tc.id, got, err, tc.want)
		}
	}
}

func TestParseKeyValues(t *testing.T) {
	got := parseKeyValues("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n\nbogus\nname value\nmax max\n")
	want := map[string]uint64{"oom_kill_disable": 0, "under_oom": 0, "oom_kill": 3, "max": math.MaxUint64}
	if !maps.Equal(got, want) {
		t.Errorf("parseKeyValues = %v, want %v", got, want)
	}
}

func TestParseSystemCPU(t *testing.T) {
	tests := []struct {
		stat string
		want uint64
		ok   bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice:
		// Docker sums the first seven.
		{"cpu  56249 0 51512 201883 6361 0 2628 80 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n", (56249 + 51512 + 201883 + 6361 + 2628) * 10_000_000, true},
		{"intr 1\ncpu  1 1 1 1 1 1 1\n", 7 * 10_000_000, true},
		{"cpu  1 2 3\n", 0, false},
		{"cpu  1 2 3 4 5 6 x\n", 0, false},
		{"cpu0 1 2 3 4 5 6 7\n", 0, false},
	}
	for _, tc := range tests {
		got, err := parseSystemCPU(tc.stat)
		if tc.ok && (err != nil || got != tc.want) || !tc.ok && err == nil {
			t.Errorf("parseSystemCPU(%q) = %d, %v; want %d, ok %v", tc.stat, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		list string
		want int
		ok   bool
	}{
		{"0", 1, true},
		{"0-1", 2, true},
		{"0-3,8,10-11", 7, true},
		{"", 0, true},
		{"a-b", 0, false},
		{"3-1", 0, false},
		{"1-", 0, false},
	}
	for _, tc := range tests {
		got, err := parseCPUList(tc.list)
		if tc.ok && (err != nil || got != tc.want) || !tc.ok && err == nil {
			t.Errorf("parseCPUList(%q) = %d, %v; want %d, ok %v", tc.list, got, err, tc.want, tc.ok)
		}
	}
}
