package cgroup

// Tests on the host's real cgroups. They need root and /bin/busybox, and
// run on whichever hierarchies the host has (v1 controllers on this
// project's test machines). Every test works under its own parent,
// skiff-test-<random>, which it removes from every hierarchy even when it
// fails.

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

const busybox = "/bin/busybox"

// hostLayout returns the host's layout, skipping the test unless it runs as
// root on a host with cgroups and busybox.
func hostLayout(t testing.TB) layout {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := os.Stat(busybox); err != nil {
		t.Skipf("needs %s: %v", busybox, err)
	}
	l, err := system()
	if err != nil {
		t.Fatal(err)
	}
	if l.version() == "" {
		t.Skip("no cgroup hierarchy mounted")
	}
	return l
}

// testParent returns a unique parent name, which it removes from every
// hierarchy when the test ends.
func testParent(t testing.TB, l layout) string {
	t.Helper()
	parent := "skiff-test-" + strings.ToLower(rand.Text()[:10])
	t.Cleanup(func() {
		roots := slices.Collect(maps.Keys(l.mounts()))
		if l.unified != "" {
			roots = append(roots, l.unified)
		}
		for _, root := range roots {
			if err := unix.Rmdir(filepath.Join(root, parent)); err != nil && err != unix.ENOENT {
				t.Errorf("remove test parent: rmdir %s: %v", filepath.Join(root, parent), err)
			}
		}
	})
	return parent
}

// newTestManager creates the cgroup <unique parent>/c1 with r, and
// destroys it when the test ends.
func newTestManager(t testing.TB, r Resources) (*Manager, layout, string) {
	t.Helper()
	l := hostLayout(t)
	parent := testParent(t, l)
	m, err := New(parent, "c1", r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return m, l, parent
}

// needControllers skips the test unless m has every named controller.
func needControllers(t *testing.T, m *Manager, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, _, ok := m.controller(name); !ok {
			t.Skipf("no %s controller on this host", name)
		}
	}
}

// child is a busybox shell script running in a test cgroup.
type child struct {
	cmd *exec.Cmd
	out string // the file with its stdout and stderr
}

// startIn starts a busybox shell script in m. The shell first waits for a
// line on stdin, which startIn sends once the shell is in the cgroup, so
// that the whole script runs there. Output goes to a file, so that
// background processes of the script that keep it open do not hold up Wait.
func startIn(t *testing.T, m *Manager, script string) *child {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(busybox, "sh", "-c", "read go; "+script)
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Destroy first: a process of a frozen cgroup dies of SIGKILL only
		// once thawed. (The Destroy of newTestManager, later, reports
		// errors.)
		_ = m.Destroy()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if err := m.Add(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	return &child{cmd: cmd, out: out.Name()}
}

func (c *child) output(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(c.out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitExit waits for the shell to end, at most 30 s.
func (c *child) waitExit(t *testing.T) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("%v still running after 30 s; output: %s", c.cmd.Args, c.output(t))
		return nil
	}
}

// eventually polls cond every 10 ms for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// controllerFile reads a file of m's directory for a controller.
func controllerFile(t *testing.T, m *Manager, controller, name string) string {
	t.Helper()
	dir, _, ok := m.controller(controller)
	if !ok {
		t.Fatalf("no %s controller", controller)
	}
	s, err := readFile(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewCreatesEveryHierarchy(t *testing.T) {
	m, l, parent := newTestManager(t, Resources{})
	paths := m.Paths()
	for c, mnt := range l.v1 {
		want := filepath.Join(mnt, parent, "c1")
		if paths[c] != want {
			t.Errorf("Paths()[%s] = %q, want %q", c, paths[c], want)
		}
		if !isDir(want) {
			t.Errorf("%s was not created", want)
		}
	}
	if l.unified != "" {
		want := filepath.Join(l.unified, parent, "c1")
		if paths["unified"] != want || !isDir(want) {
			t.Errorf(`Paths()["unified"] = %q, want the existing %q`, paths["unified"], want)
		}
	}
	if dir, ok := m.v1["cpuset"]; ok {
		for _, name := range []string{"cpuset.cpus", "cpuset.mems"} {
			if v, err := readFile(dir, name); err != nil || v == "" {
				t.Errorf("%s = %q, %v; want the parent's", name, v, err)
			}
		}
	}
}

// TestSetLimits applies each step's limits in turn, New first, then Set,
// and reads back the files; the steps raise and lower the v1 memory and
// memory+swap limits in both orders.
func TestSetLimits(t *testing.T) {
	const unlimitedV1 = "9223372036854771712" // v1 shows -1 as the largest page count
	steps := []struct {
		name   string
		r      Resources
		v1, v2 map[string]string // file → content; memory+swap only if the kernel accounts swap
	}{
		{
			name: "docker run -m 64m --cpus 1.5 --cpu-shares 512 --pids-limit 100",
			r:    Resources{Memory: 64 * mib, NanoCPUs: 1_500_000_000, CPUShares: 512, PidsLimit: 100},
			v1: map[string]string{
				"memory.limit_in_bytes": "67108864", "memory.memsw.limit_in_bytes": "134217728",
				"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "150000", "cpu.shares": "512",
				"pids.max": "100",
			},
			v2: map[string]string{
				"memory.max": "67108864", "memory.swap.max": "67108864",
				"cpu.max": "150000 100000", "cpu.weight": "20", "pids.max": "100",
			},
		},
		{
			name: "docker update -m 32m --memory-swap 32m --cpus 0.5 --pids-limit 10",
			r:    Resources{Memory: 32 * mib, MemorySwap: 32 * mib, NanoCPUs: 500_000_000, PidsLimit: 10},
			v1: map[string]string{
				"memory.limit_in_bytes": "33554432", "memory.memsw.limit_in_bytes": "33554432",
				"cpu.cfs_quota_us": "50000", "cpu.shares": "1024", "pids.max": "10",
			},
			v2: map[string]string{
				"memory.max": "33554432", "memory.swap.max": "0",
				"cpu.max": "50000 100000", "cpu.weight": "39", "pids.max": "10",
			},
		},
		{
			name: "more memory, unlimited swap",
			r:    Resources{Memory: 128 * mib, MemorySwap: -1},
			v1: map[string]string{
				"memory.limit_in_bytes": "134217728", "memory.memsw.limit_in_bytes": unlimitedV1,
				"cpu.cfs_quota_us": "-1", "pids.max": "max",
			},
			v2: map[string]string{
				"memory.max": "134217728", "memory.swap.max": "max", "cpu.max": "max 100000", "pids.max": "max",
			},
		},
		{
			name: "less memory, limited swap again",
			r:    Resources{Memory: 16 * mib},
			v1: map[string]string{
				"memory.limit_in_bytes": "16777216", "memory.memsw.limit_in_bytes": "33554432",
			},
			v2: map[string]string{"memory.max": "16777216", "memory.swap.max": "16777216"},
		},
		{
			name: "raise memory and memory+swap",
			r:    Resources{Memory: 64 * mib},
			v1: map[string]string{
				"memory.limit_in_bytes": "67108864", "memory.memsw.limit_in_bytes": "134217728",
			},
			v2: map[string]string{"memory.max": "67108864", "memory.swap.max": "67108864"},
		},
		{
			name: "no limits",
			r:    Resources{},
			v1: map[string]string{
				"memory.limit_in_bytes": unlimitedV1, "memory.memsw.limit_in_bytes": unlimitedV1,
				"cpu.cfs_quota_us": "-1", "cpu.shares": "1024", "pids.max": "max",
			},
			v2: map[string]string{"memory.max": "max", "memory.swap.max": "max", "cpu.max": "max 100000", "pids.max": "max"},
		},
	}
	m, _, _ := newTestManager(t, steps[0].r)
	needControllers(t, m, "memory", "cpu", "pids")
	for i, step := range steps {
		if i > 0 {
			if err := m.Set(step.r); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
		}
		for _, c := range []string{"memory", "cpu", "pids"} {
			dir, v2, _ := m.controller(c)
			want := step.v1
			if v2 {
				want = step.v2
			}
			for name, value := range want {
				if !strings.HasPrefix(name, c+".") {
					continue
				}
				if (strings.Contains(name, "memsw") || strings.Contains(name, "swap")) && !exists(dir, name) {
					continue // no swap accounting
				}
				if got, err := readFile(dir, name); err != nil || got != value {
					t.Errorf("%s: %s = %q, %v; want %q", step.name, name, got, err, value)
				}
			}
		}
	}
}

func TestNewRejects(t *testing.T) {
	l := hostLayout(t)
	parent := testParent(t, l)
	tests := []struct {
		name      string
		parent    string
		id        string
		r         Resources
		wantClass func(error) bool
	}{
		{"empty id", parent, "", Resources{}, errdefs.IsInvalidArgument},
		{"id with a slash", parent, "a/b", Resources{}, errdefs.IsInvalidArgument},
		{"parent out of the hierarchy", "../" + parent, "c1", Resources{}, errdefs.IsInvalidArgument},
		{"swap below memory", parent, "c1", Resources{Memory: 64 * mib, MemorySwap: mib}, errdefs.IsInvalidArgument},
		{"too little CPU", parent, "c1", Resources{NanoCPUs: 1000}, errdefs.IsInvalidArgument},
		// Valid as far as Resources go, but beyond the kernel's largest
		// quota: New fails once it has made the directories, and removes
		// them.
		{"quota the kernel refuses", parent, "c1", Resources{NanoCPUs: 1 << 62}, errdefs.IsInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tc.parent, tc.id, tc.r)
			if err == nil {
				_ = m.Destroy()
			}
			if !tc.wantClass(err) {
				t.Errorf("New = %v, want an invalid argument", err)
			}
			if _, err := Load(parent, "c1"); !errdefs.IsNotFound(err) {
				t.Errorf("a rejected New left a cgroup: Load = %v", err)
			}
		})
	}
}

func TestNewExisting(t *testing.T) {
	m, _, parent := newTestManager(t, Resources{PidsLimit: 42})
	c := startIn(t, m, busybox+" sleep 30")
	if _, err := New(parent, "c1", Resources{}); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("second New = %v, want already exists", err)
	}
	// The existing cgroup is untouched.
	pids, err := m.Pids()
	if err != nil || !slices.Contains(pids, c.cmd.Process.Pid) {
		t.Errorf("Pids after a refused New = %v, %v; want %d in it", pids, err, c.cmd.Process.Pid)
	}
	if _, _, ok := m.controller("pids"); ok {
		if got := controllerFile(t, m, "pids", "pids.max"); got != "42" {
			t.Errorf("pids.max = %q after a refused New, want 42", got)
		}
	}
}

func TestLoad(t *testing.T) {
	m, _, parent := newTestManager(t, Resources{PidsLimit: 42})
	loaded, err := Load(parent, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(loaded.Paths(), m.Paths()) {
		t.Errorf("Load's Paths = %v, New's = %v", loaded.Paths(), m.Paths())
	}
	if _, _, ok := m.controller("pids"); ok {
		if got := controllerFile(t, loaded, "pids", "pids.max"); got != "42" {
			t.Errorf("pids.max = %q after Load, want 42", got)
		}
	}
	if _, err := Load(parent, "missing"); !errdefs.IsNotFound(err) {
		t.Errorf("Load of a missing cgroup = %v, want not found", err)
	}
}

func TestProcessAndStats(t *testing.T) {
	m, _, _ := newTestManager(t, Resources{Memory: 256 * mib, PidsLimit: 50})
	// A shell holding a 4 MiB string and waiting for its sleep, forked
	// before "ready" is printed.
	holder := startIn(t, m, `x=$(head -c 4194304 /dev/zero | tr "\0" a); `+busybox+` sleep 30 & echo ready; wait; echo end`)
	eventually(t, "the holder to fill its string", func() bool { return strings.Contains(holder.output(t), "ready") })

	pids, err := m.Pids()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids, holder.cmd.Process.Pid) || len(pids) != 2 {
		t.Errorf("Pids = %v, want the shell %d and its sleep", pids, holder.cmd.Process.Pid)
	}

	busy := startIn(t, m, `i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done`)
	if err := busy.waitExit(t); err != nil {
		t.Fatalf("busy loop: %v: %s", err, busy.output(t))
	}

	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stats: %+v", s)
	if s.SystemCPU == 0 || s.OnlineCPUs < 1 {
		t.Errorf("SystemCPU = %d, OnlineCPUs = %d", s.SystemCPU, s.OnlineCPUs)
	}
	if _, _, ok := m.controller("cpuacct"); ok || m.unified != "" {
		// The loop takes about a second of CPU; 10 ms is a safe floor.
		if s.CPUUsage < uint64(10*time.Millisecond) {
			t.Errorf("CPUUsage = %d ns after a busy loop", s.CPUUsage)
		}
	}
	if _, v2, ok := m.controller("cpuacct"); ok && !v2 {
		var sum uint64
		for _, n := range s.CPUPerCore {
			sum += n
		}
		if len(s.CPUPerCore) < s.OnlineCPUs || sum == 0 {
			t.Errorf("CPUPerCore = %v", s.CPUPerCore)
		}
	}
	if _, _, ok := m.controller("memory"); ok {
		if s.MemoryUsage < 4*mib {
			t.Errorf("MemoryUsage = %d, want at least the 4 MiB string", s.MemoryUsage)
		}
		if s.MemoryLimit != 256*mib {
			t.Errorf("MemoryLimit = %d, want %d", s.MemoryLimit, 256*mib)
		}
		if len(s.MemoryStats) == 0 {
			t.Error("no MemoryStats")
		}
		if oom, err := m.OOMKilled(); err != nil || oom {
			t.Errorf("OOMKilled = %v, %v; want false", oom, err)
		}
	}
	if _, _, ok := m.controller("pids"); ok && (s.PidsCurrent < 2 || s.PidsLimit != 50) {
		t.Errorf("PidsCurrent = %d, PidsLimit = %d; want at least 2 and 50", s.PidsCurrent, s.PidsLimit)
	}
}

func TestOOMKill(t *testing.T) {
	m, _, _ := newTestManager(t, Resources{Memory: 16 * mib})
	needControllers(t, m, "memory")
	c := startIn(t, m, `x=$(head -c 64m /dev/zero | tr "\0" a); echo survived`)
	err := c.waitExit(t)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("shell ended with %v, want killed; output: %s", err, c.output(t))
	}
	if out := c.output(t); strings.Contains(out, "survived") {
		t.Errorf("the shell survived: %s", out)
	}
	oom, err := m.OOMKilled()
	if err != nil || !oom {
		t.Errorf("OOMKilled = %v, %v; want true", oom, err)
	}
}

func TestPidsLimit(t *testing.T) {
	m, _, _ := newTestManager(t, Resources{PidsLimit: 10})
	needControllers(t, m, "pids")
	c := startIn(t, m, `i=0; while [ $i -lt 30 ]; do `+busybox+` sleep 30 & i=$((i+1)); done`)
	_ = c.waitExit(t) // the shell ends when it cannot fork
	if out := c.output(t); !strings.Contains(out, "can't fork") {
		t.Errorf("output %q, want a fork failure", out)
	}
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.PidsCurrent < 1 || s.PidsCurrent > 10 || s.PidsLimit != 10 {
		t.Errorf("PidsCurrent = %d, PidsLimit = %d; want 1 to 10, and 10", s.PidsCurrent, s.PidsLimit)
	}
	events, err := readKeyValues(m.Paths()["pids"], "pids.events")
	if err != nil {
		t.Fatal(err)
	}
	if events["max"] == 0 {
		t.Errorf("pids.events shows no fork refused at the limit: %v", events)
	}
}

func TestFreezeThaw(t *testing.T) {
	m, _, _ := newTestManager(t, Resources{})
	c := startIn(t, m, `while :; do echo tick; `+busybox+` sleep 0.01; done`)
	size := func() int64 {
		fi, err := os.Stat(c.out)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	eventually(t, "output", func() bool { return size() > 0 })

	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if dir, ok := m.v1["freezer"]; ok {
		if state, err := readFile(dir, "freezer.state"); err != nil || state != "FROZEN" {
			t.Errorf("freezer.state = %q, %v; want FROZEN", state, err)
		}
		// The v1 freezer shows frozen tasks in uninterruptible sleep (v2's
		// shows them sleeping, S).
		if state := procState(t, c.cmd.Process.Pid); state != "D" {
			t.Errorf("frozen shell in state %s, want D", state)
		}
	} else if events, err := readKeyValues(m.unified, "cgroup.events"); err != nil || events["frozen"] != 1 {
		t.Errorf("cgroup.events = %v, %v; want frozen 1", events, err)
	}
	frozenAt := size()
	time.Sleep(200 * time.Millisecond)
	if s := size(); s != frozenAt {
		t.Errorf("a frozen shell wrote: output grew from %d to %d bytes", frozenAt, s)
	}

	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "output after thawing", func() bool { return size() > frozenAt })
}

// procState returns the state letter of a process (proc(5)).
func procState(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ...; comm may hold spaces and parentheses.
	_, rest, _ := strings.Cut(string(b[strings.LastIndexByte(string(b), ')'):]), " ")
	state, _, _ := strings.Cut(rest, " ")
	return state
}

// The cgroup of a container whose processes are all gone is removed
// without a look for processes to kill.
func TestDestroyEmpty(t *testing.T) {
	m, _, _ := newTestManager(t, Resources{})
	c := startIn(t, m, busybox+" true")
	c.waitExit(t)
	before := killPasses.Load()
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if n := killPasses.Load() - before; n != 0 {
		t.Errorf("Destroy of an empty cgroup looked for processes %d times", n)
	}
	for c, dir := range m.Paths() {
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s directory %s still there: %v", c, dir, err)
		}
	}
}

func TestDestroy(t *testing.T) {
	m, _, parent := newTestManager(t, Resources{})
	c := startIn(t, m, busybox+` sleep 30 & `+busybox+` sleep 30; echo end`)
	eventually(t, "both processes", func() bool {
		pids, err := m.Pids()
		return err == nil && len(pids) == 3
	})
	// A cgroup made inside the container's, holding a process too.
	sub := filepath.Join(m.Paths()[slices.Sorted(maps.Keys(m.Paths()))[0]], "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	inner := startIn(t, m, busybox+" sleep 30")
	if dir, ok := m.v1["cpuset"]; ok && strings.HasPrefix(sub, dir) {
		if err := inheritCpuset(sub); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeFile(sub, "cgroup.procs", strconv.Itoa(inner.cmd.Process.Pid)); err != nil {
		t.Fatal(err)
	}
	// Destroy a paused container.
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}

	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []*child{c, inner} {
		err := ch.waitExit(t)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("%v ended with %v, want killed", ch.cmd.Args, err)
		}
	}
	for c, dir := range m.Paths() {
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s directory %s still there: %v", c, dir, err)
		}
	}
	if err := m.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
	if _, err := Load(parent, "c1"); !errdefs.IsNotFound(err) {
		t.Errorf("Load after Destroy = %v, want not found", err)
	}
	if _, err := m.Pids(); !errdefs.IsNotFound(err) {
		t.Errorf("Pids after Destroy = %v, want not found", err)
	}
	if _, err := m.Stats(); !errdefs.IsNotFound(err) {
		t.Errorf("Stats after Destroy = %v, want not found", err)
	}
	if err := m.Add(os.Getpid()); !errdefs.IsNotFound(err) {
		t.Errorf("Add after Destroy = %v, want not found", err)
	}
}

func TestSetMemoryBelowUsage(t *testing.T) {
	m, _, _ := newTestManager(t, Resources{})
	needControllers(t, m, "memory")
	if _, v2, _ := m.controller("memory"); v2 {
		t.Skip("v2 reclaims and OOM-kills instead of refusing")
	}
	c := startIn(t, m, `x=$(head -c 8m /dev/zero | tr "\0" a); echo ready; `+busybox+` sleep 30; echo end`)
	eventually(t, "the shell to fill its string", func() bool { return strings.Contains(c.output(t), "ready") })

	err := m.Set(Resources{Memory: 2 * mib})
	if !errdefs.IsInvalidArgument(err) || !errors.Is(err, unix.EBUSY) {
		t.Fatalf("Set below usage = %v, want an invalid argument from EBUSY", err)
	}
	for _, want := range []string{"memory.limit_in_bytes", `"2097152"`, "usage"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	t.Log(err)
	if got := controllerFile(t, m, "memory", "memory.limit_in_bytes"); got == "2097152" {
		t.Error("the refused limit was applied")
	}
}

func TestDeviceRules(t *testing.T) {
	m, _, _ := newTestManager(t, Resources{})
	dir, ok := m.v1["devices"]
	if !ok {
		t.Skip("no v1 devices controller")
	}
	list, err := readFile(dir, "devices.list")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(list, "\n")
	want := defaultDeviceRules()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("devices.list:\n%s\nwant the rules %q", list, want)
	}

	// /dev/kmsg (c 1:11) is outside the allowlist, /dev/null is in it.
	c := startIn(t, m, `echo > /dev/null && echo null ok; head -c1 /dev/kmsg > /dev/null`)
	_ = c.waitExit(t)
	out := c.output(t)
	if !strings.Contains(out, "null ok") || !strings.Contains(out, "Operation not permitted") {
		t.Errorf("output %q, want /dev/null usable and /dev/kmsg denied", out)
	}
}

// JoinV2 moves a container's processes that joined its v1 cgroups only, as
// a self-joined init and what it forked, into its v2 directory.
func TestJoinV2(t *testing.T) {
	m, _, _ := newTestManager(t, Resources{})
	if m.unified == "" {
		if err := m.JoinV2(); err != nil {
			t.Errorf("JoinV2 without a v2 hierarchy: %v", err)
		}
		return
	}
	startIn(t, m, busybox+" sleep 30 & "+busybox+" sleep 30; echo end")
	eventually(t, "the shell and its two sleeps", func() bool {
		pids, err := m.Pids()
		return err == nil && len(pids) == 3
	})
	// Out of the v2 directory, into its parent: where a self-joined init
	// and its children are.
	inV2, err := readPids(m.unified)
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range inV2 {
		if err := writeFile(filepath.Dir(m.unified), "cgroup.procs", strconv.Itoa(pid)); err != nil {
			t.Fatal(err)
		}
	}

	if err := m.JoinV2(); err != nil {
		t.Fatal(err)
	}
	got, err := readPids(m.unified)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(inV2)
	if !slices.Equal(got, inV2) {
		t.Errorf("v2 directory holds %v after JoinV2, want %v", got, inV2)
	}
}
