package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// A container's init can join its v1 cgroups itself, which costs none of
// Add's wait (see "Latency of Add"): the kernel moves a single thread that
// moves itself (it writes "0" to a v1 "tasks" file) without taking the
// global cgroup_threadgroup_rwsem. The init's thread that calls execve is
// the one that matters: it is all that survives execve, and the other
// threads of a Go process end there. v2 knows no such move between domain
// cgroups: a process joins its v2 directory through Add (AddV2 on a hybrid
// host).

// SelfJoin reports whether a container's processes get all their limits
// from v1 hierarchies: the host has no v2 hierarchy, or one that offers
// none of the controllers the package uses there (a hybrid host such as
// this machine). A thread can then join the limiting cgroups itself
// (TaskFiles), and the v2 directory only groups the processes.
func SelfJoin() bool {
	l, err := system()
	if err != nil || len(l.v1) == 0 {
		return false
	}
	for _, c := range v2Controllers() {
		if l.v2[c] {
			return false
		}
	}
	return true
}

// TaskFiles opens, for writing, the "tasks" file of the container's cgroup
// on each v1 hierarchy: a thread that writes "0" to each joins the
// container's v1 cgroups. The caller closes them.
func (m *Manager) TaskFiles() ([]*os.File, error) {
	var files []*os.File
	for _, dir := range m.dirs() {
		if dir == m.unified {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, "tasks"), os.O_WRONLY, 0)
		if err != nil {
			closeFiles(files)
			return nil, fmt.Errorf("open the tasks file of %s: %w", m.id, classify(dir, err))
		}
		files = append(files, f)
	}
	return files, nil
}

// AddV2 moves a process, with all its threads, into the container's v2
// directory only; nothing is done on a host without one.
func (m *Manager) AddV2(pid int) error {
	if m.unified == "" {
		return nil
	}
	if err := writeFile(m.unified, "cgroup.procs", strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("add process %d to the v2 cgroup of %s: %w", pid, m.id, err)
	}
	return nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
