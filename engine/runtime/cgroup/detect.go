package cgroup

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
)

// layout is how the host mounts its cgroup hierarchies.
type layout struct {
	// v1 maps each controller bound to a v1 hierarchy to that hierarchy's
	// mount point. Co-mounted controllers share one mount point.
	v1 map[string]string
	// unified is the mount point of the v2 hierarchy, "" when none is
	// mounted.
	unified string
	// v2 holds the controllers the v2 hierarchy offers (its root's
	// cgroup.controllers).
	v2 map[string]bool
}

// system is the host's layout, detected once.
var system = sync.OnceValues(func() (layout, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return layout{}, fmt.Errorf("detect cgroup hierarchies: %w", err)
	}
	defer f.Close()
	l, err := parseLayout(f)
	if err != nil {
		return layout{}, fmt.Errorf("detect cgroup hierarchies: %w", err)
	}
	return l, nil
})

// Version reports how the host mounts its cgroup controllers, as docker info
// shows it:
//
//   - "1": every controller is on v1 hierarchies and no v2 hierarchy is
//     mounted;
//   - "hybrid": controllers are on v1 hierarchies and a v2 hierarchy is
//     mounted too (it may hold some controllers, or none);
//   - "2": no controller is on a v1 hierarchy, and a v2 hierarchy is mounted;
//   - "": no cgroup hierarchy is mounted, or mountinfo cannot be read.
func Version() string {
	l, err := system()
	if err != nil {
		return ""
	}
	return l.version()
}

func (l layout) version() string {
	switch {
	case len(l.v1) > 0 && l.unified != "":
		return "hybrid"
	case len(l.v1) > 0:
		return "1"
	case l.unified != "":
		return "2"
	default:
		return ""
	}
}

// mounts returns the distinct v1 mount points with the controllers of
// each, sorted.
func (l layout) mounts() map[string][]string {
	m := make(map[string][]string)
	for c, dir := range l.v1 {
		m[dir] = append(m[dir], c)
	}
	for _, controllers := range m {
		slices.Sort(controllers)
	}
	return m
}

// isV1Controller reports whether name is a controller a v1 hierarchy can
// hold. The other words in a v1 mount's super options are options (rw,
// xattr, noprefix, clone_children, name=..., release_agent=...).
func isV1Controller(name string) bool {
	switch name {
	case "blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb",
		"memory", "misc", "net_cls", "net_prio", "perf_event", "pids", "rdma":
		return true
	}
	return false
}

// parseLayout reads a mountinfo file and, for the v2 hierarchy, the
// controllers its root offers.
func parseLayout(mountinfo io.Reader) (layout, error) {
	l := layout{v1: make(map[string]string), v2: make(map[string]bool)}
	// A hierarchy can be mounted more than once (bind mounts, or a
	// container's view of a part of it). Prefer a mount of its root; among
	// equals, the first.
	v1Root := make(map[string]bool)
	unifiedRoot := false
	sc := bufio.NewScanner(mountinfo)
	for sc.Scan() {
		m, ok := parseMountinfoLine(sc.Text())
		if !ok {
			continue
		}
		isRoot := m.root == "/"
		switch m.fstype {
		case "cgroup":
			for opt := range strings.SplitSeq(m.superOptions, ",") {
				if !isV1Controller(opt) {
					continue
				}
				if _, seen := l.v1[opt]; !seen || (isRoot && !v1Root[opt]) {
					l.v1[opt] = m.mountPoint
					v1Root[opt] = isRoot
				}
			}
		case "cgroup2":
			if l.unified == "" || (isRoot && !unifiedRoot) {
				l.unified = m.mountPoint
				unifiedRoot = isRoot
			}
		}
	}
	if err := sc.Err(); err != nil {
		return layout{}, err
	}
	if l.unified != "" {
		controllers, err := readFields(l.unified, "cgroup.controllers")
		if err != nil {
			return layout{}, err
		}
		for _, c := range controllers {
			l.v2[c] = true
		}
	}
	return l, nil
}

// mountinfoEntry is the part of a /proc/<pid>/mountinfo line the package
// needs.
type mountinfoEntry struct {
	root, mountPoint, fstype, superOptions string
}

// parseMountinfoLine parses one line of mountinfo (proc(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// Optional fields come before the "-" separator.
func parseMountinfoLine(line string) (mountinfoEntry, bool) {
	fields := strings.Fields(line)
	sep := -1
	for i := 6; i < len(fields); i++ {
		if fields[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 || sep+3 >= len(fields) {
		return mountinfoEntry{}, false
	}
	return mountinfoEntry{
		root:         unescapeMountinfo(fields[3]),
		mountPoint:   unescapeMountinfo(fields[4]),
		fstype:       fields[sep+1],
		superOptions: fields[sep+3],
	}, true
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space,
// \011, \012, \134) in mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }
