package container

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/skiff-dev/skiff/engine/runtime/cgroup"
)

// Stats is one sample of a container's resource use.
type Stats struct {
	Read time.Time
	cgroup.Stats
}

// Stats samples a running container's cgroup.
func (s *Service) Stats(ctx context.Context, ref string) (*Container, Stats, error) {
	c, err := s.get(ctx, ref)
	if err != nil {
		return nil, Stats{}, err
	}
	if !c.State.Running() {
		return c, Stats{Read: s.now()}, nil // docker streams zeros for a stopped container
	}
	cg, err := cgroup.Load(cgroupParent, c.ID)
	if err != nil {
		return nil, Stats{}, fmt.Errorf("stats of container %s: %w", shortID(c.ID), err)
	}
	st, err := cg.Stats()
	if err != nil {
		return nil, Stats{}, fmt.Errorf("stats of container %s: %w", shortID(c.ID), err)
	}
	return c, Stats{Read: s.now(), Stats: st}, nil
}

// Top lists a running container's processes as ps -ef shows them.
func (s *Service) Top(ctx context.Context, ref string) ([]string, [][]string, error) {
	c, err := s.get(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	if !c.State.Running() {
		return nil, nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is not running", c.ID))
	}
	cg, err := cgroup.Load(cgroupParent, c.ID)
	if err != nil {
		return nil, nil, err
	}
	pids, err := cg.Pids()
	if err != nil {
		return nil, nil, err
	}
	titles := []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}
	var rows [][]string
	names := map[string]string{}
	for _, pid := range pids {
		if row, err := psRow(pid); err == nil {
			row[0] = userName(names, row[0])
			rows = append(rows, row)
		}
	}
	s.publish(c, "top", nil)
	return titles, rows, nil
}

// userName is the host's name of uid, as ps -ef on the host shows it, or
// the uid itself when the host has no such user. names caches lookups.
func userName(names map[string]string, uid string) string {
	if name, ok := names[uid]; ok {
		return name
	}
	name := uid
	if u, err := user.LookupId(uid); err == nil {
		name = u.Username
	}
	names[uid] = name
	return name
}

// psRow reads one process from /proc in ps -ef's columns.
func psRow(pid int) ([]string, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return nil, err
	}
	// The command name may hold spaces and parentheses: split after the
	// last ')'.
	end := strings.LastIndexByte(string(stat), ')')
	if end < 0 {
		return nil, fmt.Errorf("malformed stat of %d", pid)
	}
	fields := strings.Fields(string(stat[end+2:]))
	if len(fields) < 20 {
		return nil, fmt.Errorf("malformed stat of %d", pid)
	}
	ppid := fields[1]
	ticks := int64(100) // USER_HZ
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	cpu := time.Duration((utime+stime)/ticks) * time.Second
	cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
	cmd := strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
	if cmd == "" {
		cmd = "[" + string(stat[strings.IndexByte(string(stat), '(')+1:end]) + "]"
	}
	uid := "?"
	if status, err := os.ReadFile(filepath.Join(dir, "status")); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "Uid:"); ok {
				if f := strings.Fields(v); len(f) > 0 {
					uid = f[0]
				}
			}
		}
	}
	var started string
	if fi, err := os.Stat(dir); err == nil {
		started = fi.ModTime().Format("15:04")
	}
	h, m, sec := int(cpu.Hours()), int(cpu.Minutes())%60, int(cpu.Seconds())%60
	return []string{uid, strconv.Itoa(pid), ppid, "0", started, "?", fmt.Sprintf("%02d:%02d:%02d", h, m, sec), cmd}, nil
}
