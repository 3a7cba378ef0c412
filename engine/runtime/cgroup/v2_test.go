package cgroup

// Tests of the v2 code paths against a fake cgroupfs in a temporary
// directory: plain files in the kernel's formats. The fake has none of the
// kernel's behaviour (a write replaces a file's content), so each test
// lays out the files the kernel would show.

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

// fakeV2 returns a v2 container directory <root>/skiff/c1 holding the
// files a kernel shows there, with the given contents over empty defaults,
// and a Manager on it.
func fakeV2(t *testing.T, files map[string]string) *Manager {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "skiff", "c1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	all := map[string]string{
		"cgroup.controllers": "cpuset cpu io memory pids",
		"cgroup.procs":       "",
		"cgroup.freeze":      "0",
		"cgroup.events":      "populated 0\nfrozen 0\n",
		"cgroup.kill":        "",
		"cpu.max":            "max 100000",
		"cpu.weight":         "100",
		"cpu.stat":           "usage_usec 0\nuser_usec 0\nsystem_usec 0\n",
		"memory.max":         "max",
		"memory.swap.max":    "max",
		"memory.current":     "0",
		"memory.stat":        "anon 0\nfile 0\ninactive_file 0\n",
		"memory.events":      "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
		"pids.max":           "max",
		"pids.current":       "0",
	}
	maps.Copy(all, files)
	for name, content := range all {
		if content == "<absent>" {
			continue
		}
		writeTestFile(t, dir, name, content)
	}
	m, err := load(layout{unified: filepath.Dir(filepath.Dir(dir))}, "c1", "skiff/c1")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func readTestFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCreateV2EnablesControllers(t *testing.T) {
	root := t.TempDir()
	writeTestFile(t, root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n")
	writeTestFile(t, root, "cgroup.subtree_control", "\n")
	// The parent exists already, with memory enabled for its children and
	// without io (as if the root did not give it).
	parent := filepath.Join(root, "skiff")
	if err := os.Mkdir(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, parent, "cgroup.controllers", "cpuset cpu memory pids\n")
	writeTestFile(t, parent, "cgroup.subtree_control", "memory\n")

	m, err := create(layout{unified: root, v2: map[string]bool{"cpu": true}}, "c1", "skiff/c1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readTestFile(t, root, "cgroup.subtree_control"), "+cpu +cpuset +io +memory +pids"; got != want {
		t.Errorf("root's subtree_control got %q, want %q", got, want)
	}
	if got, want := readTestFile(t, parent, "cgroup.subtree_control"), "+cpu +cpuset +pids"; got != want {
		t.Errorf("parent's subtree_control got %q, want %q", got, want)
	}
	dir := filepath.Join(parent, "c1")
	if !isDir(dir) {
		t.Fatalf("%s not created", dir)
	}
	wantPaths := map[string]string{"cpu": dir, "cpuset": dir, "memory": dir, "pids": dir, "unified": dir}
	if p := m.Paths(); !maps.Equal(p, wantPaths) {
		t.Errorf("Paths = %v, want %v", p, wantPaths)
	}

	if _, err := create(layout{unified: root}, "c1", "skiff/c1"); !errdefs.IsAlreadyExists(err) {
		t.Errorf("second create = %v, want already exists", err)
	}
}

func TestCreateV2NothingToEnable(t *testing.T) {
	// The v2 hierarchy of a hybrid host, offering none of the controllers
	// skiff uses: the container still gets a directory, and nothing is
	// written to subtree_control.
	root := t.TempDir()
	writeTestFile(t, root, "cgroup.controllers", "hugetlb\n")
	writeTestFile(t, root, "cgroup.subtree_control", "")
	m, err := create(layout{unified: root, v2: map[string]bool{"hugetlb": true}}, "c1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got := readTestFile(t, root, "cgroup.subtree_control"); got != "" {
		t.Errorf("subtree_control = %q, want it untouched", got)
	}
	if want := (map[string]string{"unified": filepath.Join(root, "c1")}); !maps.Equal(m.Paths(), want) {
		t.Errorf("Paths = %v, want %v", m.Paths(), want)
	}
	// No memory controller anywhere: a memory limit cannot be applied,
	// no limit at all is fine.
	if err := m.Set(Resources{Memory: 64 * mib}); !errdefs.IsNotImplemented(err) {
		t.Errorf("Set memory = %v, want not implemented", err)
	}
	if err := m.Set(Resources{}); err != nil {
		t.Errorf("Set nothing: %v", err)
	}
}

func TestSetV2(t *testing.T) {
	tests := []struct {
		name  string
		r     Resources
		noSwp bool // the kernel accounts no swap: no memory.swap.max
		want  map[string]string
	}{
		{
			name: "docker run -m 64m --cpus 1.5 --cpu-shares 512 --pids-limit 100",
			r:    Resources{Memory: 64 * mib, NanoCPUs: 1_500_000_000, CPUShares: 512, PidsLimit: 100},
			want: map[string]string{
				"memory.max": "67108864", "memory.swap.max": "67108864",
				"cpu.max": "150000 100000", "cpu.weight": "20", "pids.max": "100",
			},
		},
		{
			name: "no limits",
			r:    Resources{},
			want: map[string]string{
				"memory.max": "max", "memory.swap.max": "max",
				"cpu.max": "max 100000", "cpu.weight": "39", "pids.max": "max",
			},
		},
		{
			name: "no swap",
			r:    Resources{Memory: 64 * mib, MemorySwap: 64 * mib},
			want: map[string]string{"memory.max": "67108864", "memory.swap.max": "0"},
		},
		{
			name: "32 MiB of swap",
			r:    Resources{Memory: 64 * mib, MemorySwap: 96 * mib},
			want: map[string]string{"memory.max": "67108864", "memory.swap.max": "33554432"},
		},
		{
			name: "unlimited swap",
			r:    Resources{Memory: 64 * mib, MemorySwap: -1},
			want: map[string]string{"memory.max": "67108864", "memory.swap.max": "max"},
		},
		{
			name:  "no swap accounting",
			r:     Resources{Memory: 64 * mib},
			noSwp: true,
			want:  map[string]string{"memory.max": "67108864"},
		},
		{
			name: "least and most CPU weight",
			r:    Resources{CPUShares: 2, NanoCPUs: 10_000_000},
			want: map[string]string{"cpu.weight": "1", "cpu.max": "1000 100000"},
		},
		{
			name: "pids -1 is unlimited",
			r:    Resources{PidsLimit: -1},
			want: map[string]string{"pids.max": "max"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			if tc.noSwp {
				files["memory.swap.max"] = "<absent>"
			}
			m := fakeV2(t, files)
			if err := m.Set(tc.r); err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.want {
				if got := readTestFile(t, m.unified, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if tc.noSwp && exists(m.unified, "memory.swap.max") {
				t.Error("Set created memory.swap.max")
			}
		})
	}
}

func TestSetV2Invalid(t *testing.T) {
	m := fakeV2(t, nil)
	err := m.Set(Resources{Memory: 64 * mib, MemorySwap: mib})
	if !errdefs.IsInvalidArgument(err) {
		t.Errorf("Set = %v, want invalid argument", err)
	}
	if got := readTestFile(t, m.unified, "memory.max"); got != "max" {
		t.Errorf("memory.max = %q after an invalid Set, want it untouched", got)
	}
}

func TestStatsV2(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		check func(t *testing.T, s Stats)
	}{
		{
			name: "limited",
			files: map[string]string{
				"cpu.stat":       "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n",
				"memory.current": "4096000",
				"memory.max":     "16777216",
				"memory.stat":    "anon 3000000\nfile 1000000\nactive_file 600000\ninactive_file 400000\n",
				"pids.current":   "3",
				"pids.max":       "20",
			},
			check: func(t *testing.T, s Stats) {
				want := Stats{CPUUsage: 1_500_000, MemoryUsage: 4096000, MemoryLimit: 16777216,
					MemoryCache: 400000, PidsCurrent: 3, PidsLimit: 20}
				got := s
				got.SystemCPU, got.OnlineCPUs, got.MemoryStats = 0, 0, nil
				if !equalStats(got, want) {
					t.Errorf("Stats = %+v, want %+v", got, want)
				}
				if s.MemoryStats["anon"] != 3000000 || len(s.MemoryStats) != 4 {
					t.Errorf("MemoryStats = %v", s.MemoryStats)
				}
				if s.CPUPerCore != nil {
					t.Errorf("CPUPerCore = %v on v2", s.CPUPerCore)
				}
			},
		},
		{
			name:  "unlimited",
			files: map[string]string{"memory.max": "max", "pids.max": "max"},
			check: func(t *testing.T, s Stats) {
				if s.MemoryLimit != hostMemory() {
					t.Errorf("MemoryLimit = %d, want the host's %d", s.MemoryLimit, hostMemory())
				}
				if s.PidsLimit != 0 {
					t.Errorf("PidsLimit = %d, want 0", s.PidsLimit)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := fakeV2(t, tc.files).Stats()
			if err != nil {
				t.Fatal(err)
			}
			if s.SystemCPU == 0 || s.OnlineCPUs == 0 {
				t.Errorf("SystemCPU = %d, OnlineCPUs = %d", s.SystemCPU, s.OnlineCPUs)
			}
			tc.check(t, s)
		})
	}
}

func equalStats(a, b Stats) bool {
	return slices.Equal(a.CPUPerCore, b.CPUPerCore) && maps.Equal(a.MemoryStats, b.MemoryStats) &&
		a.CPUUsage == b.CPUUsage && a.SystemCPU == b.SystemCPU && a.OnlineCPUs == b.OnlineCPUs &&
		a.MemoryUsage == b.MemoryUsage && a.MemoryLimit == b.MemoryLimit && a.MemoryCache == b.MemoryCache &&
		a.PidsCurrent == b.PidsCurrent && a.PidsLimit == b.PidsLimit
}

func TestOOMKilledV2(t *testing.T) {
	for events, want := range map[string]bool{
		"low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n": true,
		"low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\noom_group_kill 0\n": false,
	} {
		got, err := fakeV2(t, map[string]string{"memory.events": events}).OOMKilled()
		if err != nil || got != want {
			t.Errorf("OOMKilled with %q = %v, %v; want %v", events, got, err, want)
		}
	}
}

func TestFreezeV2(t *testing.T) {
	t.Run("already frozen", func(t *testing.T) {
		m := fakeV2(t, map[string]string{"cgroup.events": "populated 1\nfrozen 1\n"})
		if err := m.Freeze(); err != nil {
			t.Fatal(err)
		}
		if got := readTestFile(t, m.unified, "cgroup.freeze"); got != "1" {
			t.Errorf("cgroup.freeze = %q, want 1", got)
		}
	})
	t.Run("waits for the kernel", func(t *testing.T) {
		m := fakeV2(t, map[string]string{"cgroup.events": "populated 1\nfrozen 0\n"})
		done := make(chan struct{})
		go func() { // the kernel, freezing the tasks after a while
			defer close(done)
			time.Sleep(50 * time.Millisecond)
			tmp := filepath.Join(m.unified, "events.tmp")
			_ = os.WriteFile(tmp, []byte("populated 1\nfrozen 1\n"), 0o644)
			_ = os.Rename(tmp, filepath.Join(m.unified, "cgroup.events"))
		}()
		start := time.Now()
		if err := m.Freeze(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Errorf("Freeze returned after %v, before the cgroup was frozen", d)
		}
		<-done
	})
	t.Run("times out and thaws", func(t *testing.T) {
		m := fakeV2(t, map[string]string{"cgroup.events": "populated 1\nfrozen 0\n"})
		err := setFrozenV2(m.unified, true, 20*time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), "cgroup.events") {
			t.Errorf("freeze = %v, want a timeout naming cgroup.events", err)
		}
		if got := readTestFile(t, m.unified, "cgroup.freeze"); got != "0" {
			t.Errorf("cgroup.freeze = %q after the timeout, want 0", got)
		}
	})
	t.Run("thaw", func(t *testing.T) {
		m := fakeV2(t, map[string]string{"cgroup.freeze": "1", "cgroup.events": "populated 1\nfrozen 0\n"})
		if err := m.Thaw(); err != nil {
			t.Fatal(err)
		}
		if got := readTestFile(t, m.unified, "cgroup.freeze"); got != "0" {
			t.Errorf("cgroup.freeze = %q, want 0", got)
		}
	})
}

func TestPidsV2(t *testing.T) {
	m := fakeV2(t, map[string]string{"cgroup.procs": "12\n7\n"})
	sub := filepath.Join(m.unified, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, sub, "cgroup.procs", "30\n7\n")
	pids, err := m.Pids()
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{7, 12, 30}; !slices.Equal(pids, want) {
		t.Errorf("Pids = %v, want %v", pids, want)
	}
}

func TestLoadV2(t *testing.T) {
	m := fakeV2(t, map[string]string{"cgroup.controllers": "memory pids"})
	dir := m.unified
	want := map[string]string{"memory": dir, "pids": dir, "unified": dir}
	if p := m.Paths(); !maps.Equal(p, want) {
		t.Errorf("Paths = %v, want %v", p, want)
	}
	// Without the cpu controller, a CPU limit is refused and no limit is
	// fine.
	if err := m.Set(Resources{NanoCPUs: 1e9}); !errdefs.IsNotImplemented(err) {
		t.Errorf("Set CPU = %v, want not implemented", err)
	}

	root := filepath.Dir(filepath.Dir(dir))
	if _, err := load(layout{unified: root}, "c2", "skiff/c2"); !errdefs.IsNotFound(err) {
		t.Errorf("load of a missing cgroup = %v, want not found", err)
	}
}

func TestMissingCgroupIsNotFound(t *testing.T) {
	m := fakeV2(t, nil)
	if err := os.RemoveAll(m.unified); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Set":       m.Set(Resources{}),
		"Add":       m.Add(os.Getpid()),
		"Freeze":    m.Freeze(),
		"Pids":      second(m.Pids()),
		"Stats":     second(m.Stats()),
		"OOMKilled": second(m.OOMKilled()),
	} {
		if !errdefs.IsNotFound(err) {
			t.Errorf("%s on a removed cgroup = %v, want not found", name, err)
		}
	}
	if err := m.Destroy(); err != nil {
		t.Errorf("Destroy of a removed cgroup: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }
