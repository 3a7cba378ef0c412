package cgroup

import (
	"bufio"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseLayout(t *testing.T) {
	// The v2 mount points are temporary directories holding a
	// cgroup.controllers file, as the root of a cgroup2 mount does.
	unified := func(t *testing.T, controllers string) string {
		dir := t.TempDir()
		writeTestFile(t, dir, "cgroup.controllers", controllers)
		return dir
	}
	tests := []struct {
		name      string
		mountinfo func(t *testing.T) (text, unifiedDir string)
		v1        map[string]string
		v2        string // space-separated controllers
		version   string
	}{
		{
			name: "hybrid, this machine",
			mountinfo: func(t *testing.T) (string, string) {
				u := unified(t, "hugetlb\n")
				return `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / ` + u + ` rw,relatime - cgroup2 cgroup2 rw
`, u
			},
			v1: map[string]string{
				"cpu": "/sys/fs/cgroup/cpu", "cpuacct": "/sys/fs/cgroup/cpuacct",
				"cpuset": "/sys/fs/cgroup/cpuset", "memory": "/sys/fs/cgroup/memory",
				"devices": "/sys/fs/cgroup/devices", "freezer": "/sys/fs/cgroup/freezer",
				"blkio": "/sys/fs/cgroup/blkio", "pids": "/sys/fs/cgroup/pids",
			},
			v2:      "hugetlb",
			version: "hybrid",
		},
		{
			name: "hybrid with an empty v2 hierarchy (systemd)",
			mountinfo: func(t *testing.T) (string, string) {
				u := unified(t, "")
				return `25 24 0:23 / ` + u + ` rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate
26 24 0:24 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:6 - cgroup cgroup rw,memory
`, u
			},
			v1:      map[string]string{"memory": "/sys/fs/cgroup/memory"},
			version: "hybrid",
		},
		{
			name: "pure v2",
			mountinfo: func(t *testing.T) (string, string) {
				u := unified(t, "cpuset cpu io memory hugetlb pids rdma misc\n")
				return `22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
25 22 0:22 / ` + u + ` rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`, u
			},
			v1:      map[string]string{},
			v2:      "cpuset cpu io memory hugetlb pids rdma misc",
			version: "2",
		},
		{
			name: "pure v1, co-mounted controllers and options",
			mountinfo: func(*testing.T) (string, string) {
				return `30 25 0:26 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,name=systemd
33 25 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
34 25 0:30 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,net_cls,net_prio
35 25 0:31 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpuset,clone_children
`, ""
			},
			v1: map[string]string{
				"cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
				"net_cls": "/sys/fs/cgroup/net_cls,net_prio", "net_prio": "/sys/fs/cgroup/net_cls,net_prio",
				"cpuset": "/sys/fs/cgroup/cpuset",
			},
			version: "1",
		},
		{
			name: "a mount of the hierarchy's root wins over a bind mount of a part",
			mountinfo: func(*testing.T) (string, string) {
				return `50 25 0:32 /docker/abc /mnt/part rw - cgroup cgroup rw,memory
51 25 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
52 25 0:32 / /mnt/second rw - cgroup cgroup rw,memory
`, ""
			},
			v1:      map[string]string{"memory": "/sys/fs/cgroup/memory"},
			version: "1",
		},
		{
			name: "escaped mount point",
			mountinfo: func(*testing.T) (string, string) {
				return `50 25 0:32 / /mnt/with\040space rw - cgroup cgroup rw,pids` + "\n", ""
			},
			v1:      map[string]string{"pids": "/mnt/with space"},
			version: "1",
		},
		{
			name: "no cgroups",
			mountinfo: func(*testing.T) (string, string) {
				return "22 28 0:21 / /sys rw - sysfs sysfs rw\ngarbage\n", ""
			},
			v1:      map[string]string{},
			version: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text, u := tc.mountinfo(t)
			l, err := parseLayout(strings.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(l.v1, tc.v1) {
				t.Errorf("v1 = %v, want %v", l.v1, tc.v1)
			}
			if l.unified != u {
				t.Errorf("unified = %q, want %q", l.unified, u)
			}
			want := make(map[string]bool)
			for _, c := range strings.Fields(tc.v2) {
				want[c] = true
			}
			if !maps.Equal(l.v2, want) {
				t.Errorf("v2 = %v, want %v", l.v2, want)
			}
			if v := l.version(); v != tc.version {
				t.Errorf("version = %q, want %q", v, tc.version)
			}
		})
	}
}

func TestParseLayoutUnreadableControllers(t *testing.T) {
	dir := t.TempDir() // no cgroup.controllers
	_, err := parseLayout(strings.NewReader("41 31 0:38 / " + dir + " rw - cgroup2 cgroup2 rw\n"))
	if err == nil {
		t.Fatal("no error for a v2 mount without cgroup.controllers")
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		`/plain`:          "/plain",
		`/a\040b`:         "/a b",
		`/tab\011nl\012`:  "/tab\tnl\n",
		`/back\134slash`:  `/back\slash`,
		`/short\04`:       `/short\04`,
		`/not\999`:        `/not\999`,
		`/trailing\`:      `/trailing\`,
		`/two\040\040end`: "/two  end",
	} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestVersionOnThisHost checks Version against what /proc/cgroups and
// mountinfo say, read here independently of the package's parser: a
// controller with a non-zero hierarchy ID in /proc/cgroups is bound to v1.
func TestVersionOnThisHost(t *testing.T) {
	f, err := os.Open("/proc/cgroups")
	if err != nil {
		t.Skipf("no /proc/cgroups: %v", err)
	}
	defer f.Close()
	var onV1 []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 4 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if fields[1] != "0" && fields[3] == "1" {
			onV1 = append(onV1, fields[0])
		}
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	hasV2 := strings.Contains(string(mountinfo), " - cgroup2 ")

	var want string
	switch {
	case len(onV1) > 0 && hasV2:
		want = "hybrid"
	case len(onV1) > 0:
		want = "1"
	case hasV2:
		want = "2"
	}
	if got := Version(); got != want {
		t.Errorf("Version() = %q; /proc/cgroups has %v on v1 and mountinfo has a cgroup2 mount: %v, so want %q",
			got, onV1, hasV2, want)
	}
	l, err := system()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range onV1 {
		if l.v1[c] == "" {
			t.Errorf("controller %s is on v1 in /proc/cgroups but not in the layout %v", c, l.v1)
		}
		if l.v2[c] {
			t.Errorf("controller %s is on v1 and in the v2 root's cgroup.controllers", c)
		}
	}
}

func writeTestFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
