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

func TestNetworkHost(t *testing.T) {
	spec := sh(t, "ls /sys/class/net; readlink /proc/self/ns/net")
	spec.Network = "host"
	out := runOK(t, spec)
	hostNS, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	hostIfaces, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	var want []string
	for _, e := range hostIfaces {
		want = append(want, e.Name())
	}
	if got := lines[:len(lines)-1]; !slices.Equal(got, want) || lines[len(lines)-1] != hostNS {
		t.Errorf("got interfaces %v in %s; want the host's %v in %s", got, lines[len(lines)-1], want, hostNS)
	}
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
