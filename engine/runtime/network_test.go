package runtime

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestNetworkNone(t *testing.T) {
	out := runOK(t, sh(t, "ls /sys/class/net; cat /sys/class/net/lo/operstate; ifconfig lo; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping-ok"))
	lines := strings.Split(out, "\n")
	if lines[0] != "lo" || lines[1] != "unknown" {
		t.Errorf("want only lo, operstate unknown (loopback up):\n%s", out)
	}
	mustContain(t, out, "UP LOOPBACK RUNNING")
	mustContain(t, out, "ping-ok")
}

// With the host's network, the container is in the host's namespace, and
// its /sys lists the host's interfaces. Other tests add and remove
// interfaces on the host meanwhile: the listing must hold those there both
// before and after the container ran, and nothing there at neither time.
func TestNetworkHost(t *testing.T) {
	hostNS, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	spec := sh(t, "readlink /proc/self/ns/net; ls /sys/class/net")
	spec.Network = "host"
	before := hostInterfaces(t)
	lines := strings.Split(runOK(t, spec), "\n")
	after := hostInterfaces(t)

	if lines[0] != hostNS {
		t.Errorf("network namespace %s, want the host's %s", lines[0], hostNS)
	}
	got := lines[1:]
	for name := range before {
		if after[name] && !slices.Contains(got, name) {
			t.Errorf("the host's %s is missing from the container's %v", name, got)
		}
	}
	for _, name := range got {
		if !before[name] && !after[name] {
			t.Errorf("the container lists %s, which the host does not have", name)
		}
	}
}

// hostInterfaces lists the interfaces of the test's network namespace.
func hostInterfaces(t *testing.T) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Fatal(err)
	}
	names := make(map[string]bool)
	for _, e := range entries {
		names[e.Name()] = true
	}
	return names
}

// A path joins another container's network namespace (docker run
// --network container:<id>).
func TestNetworkJoin(t *testing.T) {
	spec, c := runningContainer(t)
	_ = spec
	nsPath := filepath.Join("/proc", strconv.Itoa(c.Pid()), "ns/net")
	want, err := os.Readlink(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	joiner := sh(t, "readlink /proc/self/ns/net; ls /sys/class/net; cat /sys/class/net/lo/operstate")
	joiner.Network = nsPath
	equals(want+"\nlo\nunknown")(t, runOK(t, joiner))

	joiner = newSpec(t, "true")
	joiner.Network = "/nonexistent/ns"
	if _, err := tryStart(t, joiner, Hooks{}); err == nil || !strings.Contains(err.Error(), "open network namespace /nonexistent/ns") {
		t.Errorf("Start with a missing namespace: %v", err)
	}
}
