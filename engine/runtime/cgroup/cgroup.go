package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// Resources are the limits docker run sets. The zero value limits nothing.
type Resources struct {
	// Memory is the memory limit in bytes (docker run -m); 0 means
	// unlimited.
	Memory int64
	// MemorySwap limits memory plus swap, in bytes, as docker run
	// --memory-swap does. 0 means Docker's default: twice Memory when
	// Memory is set (as much swap as memory), unlimited otherwise. A value
	// equal to Memory means no swap. -1 means unlimited swap. Other values
	// must be at least Memory, and need Memory set. A kernel that does not
	// account swap ignores it, as Docker does (with a warning).
	MemorySwap int64
	// NanoCPUs is the CPU limit in billionths of a CPU (--cpus 1.5 is
	// 1_500_000_000), applied as a CFS quota per 100 ms period; 0 means
	// unlimited. The least is 0.01 CPU, the kernel's 1 ms quota.
	NanoCPUs int64
	// CPUShares is the relative CPU weight (--cpu-shares); 0 means the
	// default, 1024. Values outside the kernel's range, 2 to 262144, are
	// clamped to it, as the v1 kernel does. On v2 it becomes cpu.weight by
	// runc's formula.
	CPUShares int64
	// PidsLimit is the most tasks (processes and threads) the container
	// may hold (--pids-limit); 0 or less means unlimited.
	PidsLimit int64
}

// Bounds of Resources, as the kernel or Docker sets them.
const (
	cfsPeriod   = 100_000 // µs, Docker's CFS period
	minCFSQuota = 1_000   // µs, the kernel's least quota
	maxShares   = 262_144 // the kernel's largest cpu.shares
	minShares   = 2
)

// validate rejects limits no hierarchy could apply.
func (r Resources) validate() error {
	switch {
	case r.Memory < 0:
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("negative memory limit %d", r.Memory))
	case r.MemorySwap < -1:
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid memory+swap limit %d", r.MemorySwap))
	case r.MemorySwap > 0 && r.Memory == 0:
		return errdefs.ErrInvalidArgument.WithMessage("a memory+swap limit needs a memory limit")
	case r.MemorySwap > 0 && r.MemorySwap < r.Memory:
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("memory+swap limit %d is below the memory limit %d", r.MemorySwap, r.Memory))
	case r.NanoCPUs < 0:
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("negative CPU limit %d", r.NanoCPUs))
	case r.NanoCPUs > 0 && r.cfsQuota() < minCFSQuota:
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("CPU limit %d nano CPUs is below the least, 0.01 CPU", r.NanoCPUs))
	case r.CPUShares < 0:
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("negative CPU shares %d", r.CPUShares))
	}
	return nil
}

// cfsQuota is the CFS quota in µs per cfsPeriod, -1 for unlimited.
func (r Resources) cfsQuota() int64 {
	if r.NanoCPUs == 0 {
		return -1
	}
	return r.NanoCPUs / (1e9 / cfsPeriod)
}

// swapLimit is the memory+swap limit in bytes, -1 for unlimited.
func (r Resources) swapLimit() int64 {
	switch {
	case r.Memory == 0 || r.MemorySwap == -1:
		return -1
	case r.MemorySwap == 0 && r.Memory > (1<<63-1)/2:
		return -1
	case r.MemorySwap == 0:
		return 2 * r.Memory
	default:
		return r.MemorySwap
	}
}

// shares is the cpu.shares value, with 0 meaning the default, clamped to
// the kernel's range.
func (r Resources) shares() int64 {
	if r.CPUShares == 0 {
		return 1024
	}
	return min(max(r.CPUShares, minShares), maxShares)
}

// cpuWeight converts cpu.shares (2-262144) to v2's cpu.weight (1-10000),
// as runc does: the ranges are mapped linearly onto each other.
func cpuWeight(shares int64) int64 {
	return 1 + ((shares-minShares)*9999)/(maxShares-minShares)
}

// Manager is one container's cgroup, on every hierarchy the host mounts.
// Its methods may be called concurrently.
type Manager struct {
	id string
	// v1 maps each controller on a v1 hierarchy to the container's
	// directory there; co-mounted controllers share one directory.
	v1 map[string]string
	// unified is the container's v2 directory, "" on a host without a v2
	// hierarchy.
	unified string
	// v2 holds the controllers enabled in unified.
	v2 map[string]bool
}

// v2Controllers returns the controllers New enables for a container on
// v2, those of them the host offers there.
func v2Controllers() []string { return []string{"cpu", "cpuset", "io", "memory", "pids"} }

// New creates the container's cgroup <parent>/<id> on every hierarchy (see
// the package documentation), gives the v1 devices controller Docker's
// default rules, and applies r. parent may be nested ("skiff/ci") and is
// created as needed; id is one path element, and the cgroup must not exist
// yet (errdefs.ErrAlreadyExists). On failure, New removes what it created,
// except the parents.
func New(parent, id string, r Resources) (*Manager, error) {
	rel, err := relPath(parent, id)
	if err != nil {
		return nil, err
	}
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("create cgroup of %s: %w", id, err)
	}
	l, err := system()
	if err != nil {
		return nil, err
	}
	if l.version() == "" {
		return nil, fmt.Errorf("create cgroup of %s: %w", id, errdefs.ErrNotImplemented.WithMessage("no cgroup hierarchy is mounted"))
	}
	m, err := create(l, id, rel)
	if err != nil {
		return nil, err
	}
	if err := m.setup(r); err != nil {
		_ = m.Destroy()
		return nil, err
	}
	return m, nil
}

// Load returns the Manager of an existing cgroup, after a daemon restart,
// without changing it. It is errdefs.ErrNotFound if the cgroup exists on no
// hierarchy. If it exists on some hierarchies only, such as after a crash
// in the middle of New or Destroy, the Manager covers those.
func Load(parent, id string) (*Manager, error) {
	rel, err := relPath(parent, id)
	if err != nil {
		return nil, err
	}
	l, err := system()
	if err != nil {
		return nil, err
	}
	return load(l, id, rel)
}

// relPath is the cgroup's path below the root of each hierarchy.
func relPath(parent, id string) (string, error) {
	parent = strings.Trim(parent, "/")
	switch {
	case id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\n"):
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid cgroup name %q", id))
	case parent != "" && (!filepath.IsLocal(parent) || path.Clean(parent) != parent || strings.Contains(parent, "\n")):
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid cgroup parent %q", parent))
	}
	return path.Join(parent, id), nil
}

// create makes the container's directories. It enables no limit.
func create(l layout, id, rel string) (*Manager, error) {
	m := &Manager{id: id, v1: make(map[string]string), v2: make(map[string]bool)}
	mounts := l.mounts()
	for _, mnt := range slices.Sorted(maps.Keys(mounts)) {
		controllers := mounts[mnt]
		dir, err := makeDir(mnt, rel, slices.Contains(controllers, "cpuset"))
		if err != nil {
			_ = m.remove()
			return nil, fmt.Errorf("create cgroup of %s on %s: %w", id, strings.Join(controllers, ","), err)
		}
		for _, c := range controllers {
			m.v1[c] = dir
		}
	}
	if l.unified != "" {
		dir, enabled, err := makeDirV2(l.unified, rel, v2Controllers())
		if err != nil {
			_ = m.remove()
			return nil, fmt.Errorf("create cgroup of %s on v2: %w", id, err)
		}
		m.unified = dir
		m.v2 = enabled
	}
	return m, nil
}

// setup applies the limits of a new cgroup.
func (m *Manager) setup(r Resources) error {
	if dir, ok := m.v1["devices"]; ok {
		if err := setDevicesV1(dir); err != nil {
			return fmt.Errorf("set device rules of %s: %w", m.id, err)
		}
	}
	return m.Set(r)
}

// makeDir creates root/rel on a v1 hierarchy, with any missing parent.
// root/rel itself must not exist yet. On a cpuset hierarchy, each directory
// gets its parent's CPUs and memory nodes if it has none.
func makeDir(root, rel string, cpuset bool) (string, error) {
	dir := root
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		dir = filepath.Join(dir, p)
		last := i == len(parts)-1
		created, err := mkdir(dir, last)
		if err != nil {
			return "", err
		}
		if cpuset {
			if err := inheritCpuset(dir); err != nil {
				if created && last {
					_ = unix.Rmdir(dir)
				}
				return "", err
			}
		}
	}
	return dir, nil
}

// makeDirV2 creates root/rel on the v2 hierarchy, with any missing parent,
// enabling in every ancestor's cgroup.subtree_control those of the wanted
// controllers it offers. It returns the controllers enabled for root/rel.
func makeDirV2(root, rel string, want []string) (string, map[string]bool, error) {
	dir := root
	enabled := make(map[string]bool)
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		offered, err := readFields(dir, "cgroup.controllers")
		if err != nil {
			return "", nil, err
		}
		subtree, err := readFields(dir, "cgroup.subtree_control")
		if err != nil {
			return "", nil, err
		}
		clear(enabled)
		var add []string
		for _, c := range want {
			if !slices.Contains(offered, c) {
				continue
			}
			enabled[c] = true
			if !slices.Contains(subtree, c) {
				add = append(add, "+"+c)
			}
		}
		if len(add) > 0 {
			if err := writeFile(dir, "cgroup.subtree_control", strings.Join(add, " ")); err != nil {
				return "", nil, fmt.Errorf("enable controllers %s: %w", strings.Join(add, " "), err)
			}
		}
		dir = filepath.Join(dir, p)
		if _, err := mkdir(dir, i == len(parts)-1); err != nil {
			return "", nil, err
		}
	}
	return dir, enabled, nil
}

// mkdir makes a cgroup directory. An existing one is fine for a parent,
// and errdefs.ErrAlreadyExists for the container's own.
func mkdir(dir string, own bool) (created bool, err error) {
	err = os.Mkdir(dir, 0o755)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrExist) && own:
		return false, errdefs.ErrAlreadyExists.WithMessage("cgroup " + dir + " already exists")
	case errors.Is(err, fs.ErrExist):
		return false, nil
	default:
		return false, err
	}
}

// inheritCpuset copies the parent's cpuset.cpus and cpuset.mems into dir
// where dir has none: a v1 cpuset cgroup starts empty, and no task can join
// it then.
func inheritCpuset(dir string) error {
	for _, name := range []string{"cpuset.cpus", "cpuset.mems"} {
		v, err := readFile(dir, name)
		if err != nil {
			return err
		}
		if v != "" {
			continue
		}
		pv, err := readFile(filepath.Dir(dir), name)
		if err != nil {
			return err
		}
		if err := writeFile(dir, name, pv); err != nil {
			return err
		}
	}
	return nil
}

// load finds the container's existing directories.
func load(l layout, id, rel string) (*Manager, error) {
	m := &Manager{id: id, v1: make(map[string]string), v2: make(map[string]bool)}
	for mnt, controllers := range l.mounts() {
		dir := filepath.Join(mnt, rel)
		if !isDir(dir) {
			continue
		}
		for _, c := range controllers {
			m.v1[c] = dir
		}
	}
	if dir := filepath.Join(l.unified, rel); l.unified != "" && isDir(dir) {
		controllers, err := readFields(dir, "cgroup.controllers")
		if err != nil {
			return nil, fmt.Errorf("load cgroup of %s: %w", id, err)
		}
		m.unified = dir
		for _, c := range controllers {
			m.v2[c] = true
		}
	}
	if len(m.v1) == 0 && m.unified == "" {
		return nil, fmt.Errorf("load cgroup of %s: %w", id,
			errdefs.ErrNotFound.WithMessage("no cgroup "+rel+" on any hierarchy"))
	}
	return m, nil
}

func isDir(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

// controller returns the directory that drives a controller, and whether
// it is on v2. ok is false when the host has no such controller.
func (m *Manager) controller(name string) (dir string, v2, ok bool) {
	if dir, ok := m.v1[name]; ok {
		return dir, false, true
	}
	if m.unified != "" && m.v2[name] {
		return m.unified, true, true
	}
	return "", false, false
}

// dirs returns the container's distinct directories, sorted.
func (m *Manager) dirs() []string {
	dirs := slices.Collect(maps.Values(m.v1))
	if m.unified != "" {
		dirs = append(dirs, m.unified)
	}
	slices.Sort(dirs)
	return slices.Compact(dirs)
}

// Paths maps each controller the container uses to its directory, for
// debugging and tests. On a host with a v2 hierarchy, the key "unified"
// holds the container's v2 directory, which exists even when no controller
// is enabled there (hybrid hosts).
func (m *Manager) Paths() map[string]string {
	p := maps.Clone(m.v1)
	if m.unified != "" {
		for c := range m.v2 {
			if _, onV1 := p[c]; !onV1 {
				p[c] = m.unified
			}
		}
		p["unified"] = m.unified
	}
	return p
}

// Add moves a process, with all its threads, into the cgroup on every
// hierarchy.
func (m *Manager) Add(pid int) error {
	for _, dir := range m.dirs() {
		if err := writeFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("add process %d to cgroup of %s: %w", pid, m.id, err)
		}
	}
	return nil
}

// Pids returns the processes in the cgroup and in any cgroup below it,
// sorted.
func (m *Manager) Pids() ([]int, error) {
	pids, err := m.pids(false)
	if err != nil {
		return nil, fmt.Errorf("list processes of %s: %w", m.id, err)
	}
	return pids, nil
}

// pids lists the processes of every directory of the container and of
// their descendants. With skipMissing, a container directory already gone
// is skipped rather than an error.
func (m *Manager) pids(skipMissing bool) ([]int, error) {
	var pids []int
	for _, dir := range m.dirs() {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				var found []int
				found, err = readPids(p)
				pids = append(pids, found...)
			}
			switch {
			case err == nil:
				return nil
			case errors.Is(err, fs.ErrNotExist) && (p != dir || skipMissing):
				return nil // a child cgroup, or the whole directory, is gone
			default:
				return classify(dir, err)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(pids)
	return slices.Compact(pids), nil
}

// Timeouts of the kernel's asynchronous work.
const (
	// freezeTimeout bounds the wait for every task to freeze.
	freezeTimeout = 5 * time.Second
	// killFreezeTimeout bounds the freeze that Destroy attempts before it
	// signals the processes.
	killFreezeTimeout = time.Second
	// destroyTimeout bounds the wait for killed tasks to leave.
	destroyTimeout = 5 * time.Second
)

// Destroy kills every process left in the cgroup, thawing it if it was
// frozen, and removes the cgroup (and any cgroup below it) from every
// hierarchy. The kernel refuses to remove a cgroup while killed tasks are
// still exiting (EBUSY), so Destroy retries for a few seconds. A cgroup
// already removed is not an error. The parents stay.
func (m *Manager) Destroy() error {
	if m.removeEmpty() {
		return nil
	}
	deadline := time.Now().Add(destroyTimeout)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		m.kill()
		err := m.remove()
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("destroy cgroup of %s: %w", m.id, err)
		}
		time.Sleep(delay)
	}
}

// kill sends SIGKILL to every process left in the cgroup, best effort:
// Destroy's removal reports what survives. v2's cgroup.kill (Linux 5.14)
// does it in one step. Otherwise the cgroup is frozen while its processes
// are listed and signalled, so that none can fork a child the list misses
// or exit and have its pid reused (runc does the same), then thawed, so
// that the signals are delivered. The thaw also ends a pause.
func (m *Manager) kill() {
	killPasses.Add(1)
	if m.unified != "" {
		_ = writeFile(m.unified, "cgroup.kill", "1")
	}
	if pids, _ := m.pids(true); len(pids) == 0 {
		return
	}
	_ = m.freeze(killFreezeTimeout)
	pids, _ := m.pids(true)
	for _, pid := range pids {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	_ = m.thaw()
}

// removeEmpty removes the container's directories if none holds a process
// or a cgroup, and reports whether they are all gone. That is the usual
// case: a container's init has exited, and its PID namespace took every
// other process with it. Destroy then neither lists processes nor reads
// the directories (a millisecond of CPU on a v1 host's ten of them, as
// the kernel makes up each listed file).
func (m *Manager) removeEmpty() bool {
	for _, dir := range m.dirs() {
		if err := unix.Rmdir(dir); err != nil && err != unix.ENOENT {
			return false
		}
	}
	return true
}

// killPasses counts kill's calls, for tests.
var killPasses atomic.Int64

// remove removes the container's directories, deepest first.
func (m *Manager) remove() error {
	var first error
	for _, dir := range m.dirs() {
		if err := removeTree(dir); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// removeTree removes a cgroup and the cgroups below it. A cgroup directory
// holds only kernel files besides its children, which rmdir(2) takes away.
func removeTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := unix.Rmdir(dir); err != nil && err != unix.ENOENT {
		return &fs.PathError{Op: "rmdir", Path: dir, Err: err}
	}
	return nil
}
