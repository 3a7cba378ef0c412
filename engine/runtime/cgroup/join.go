package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// A container's init can join its v1 cgroups itself, which costs none of
// Add's wait (see "Latency of Add"): the kernel moves a single thread that
// moves itself (it writes "0" to a v1 "tasks" file) without taking the
// global cgroup_threadgroup_rwsem. The init's thread that calls execve is
// the one that matters: it is all that survives execve, and the other
// threads of a Go process end there. v2 knows no such move between domain
// cgroups: a process joins its v2 directory through Add (JoinV2 on a
// hybrid host).

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

// JoinV2 moves the processes of the container's v1 cgroups into its v2
// directory, where they joined the v1 ones only (TaskFiles); nothing is
// done on a host without one. A process that exits meanwhile is skipped;
// one forked while the others move is moved on a next pass, up to
// joinPasses.
func (m *Manager) JoinV2() error {
	if m.unified == "" {
		return nil
	}
	var v1 string
	for _, dir := range m.dirs() {
		if dir != m.unified {
			v1 = dir
			break
		}
	}
	if v1 == "" {
		return nil
	}
	for range joinPasses {
		pids, err := readPids(v1)
		if err != nil {
			return fmt.Errorf("join the v2 cgroup of %s: %w", m.id, err)
		}
		in, err := readPids(m.unified)
		if err != nil {
			return fmt.Errorf("join the v2 cgroup of %s: %w", m.id, err)
		}
		moved := 0
		for _, pid := range pids {
			if slices.Contains(in, pid) {
				continue
			}
			err := writeFile(m.unified, "cgroup.procs", strconv.Itoa(pid))
			if err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("add process %d to the v2 cgroup of %s: %w", pid, m.id, err)
			}
			moved++
		}
		if moved == 0 {
			return nil
		}
	}
	return nil
}

// joinPasses bounds JoinV2's passes over a container that keeps forking.
const joinPasses = 3

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
