package main

// docker network create/ls/inspect/rm/prune from both CLIs against one
// daemon: the same output, Docker's errors, the bridges created and
// removed, and the network events.

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

func TestNetworkCommandsFromBothCLIs(t *testing.T) {
	d := startSkiffd(t, "")
	h, err := netlink.NewHandle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var bridges []string
	// Runs before the daemon stops: whatever a failure left goes.
	t.Cleanup(func() {
		d.docker("network", "prune", "-f")
		for _, br := range bridges {
			if link, err := h.LinkByName(br); err == nil {
				h.LinkDel(link)
				t.Errorf("bridge %s was left behind", br)
			}
		}
	})
	start := strconv.FormatInt(time.Now().Unix(), 10)

	// 198.18.0.0/15 is for testing network devices: no host uses it.
	front := strings.TrimSpace(mustSucceed(t, "docker network create", d.docker("network", "create", "--subnet", "198.18.80.0/24", "--gateway", "198.18.80.254", "front")))
	back := strings.TrimSpace(mustSucceed(t, "skiff network create", d.skiff("network", "create", "back")))
	for _, id := range []string{front, back} {
		if len(id) != 64 {
			t.Fatalf("network create printed %q", id)
		}
		bridges = append(bridges, "br-"+id[:12])
	}
	link, err := h.LinkByName("br-" + front[:12])
	if err != nil {
		t.Fatalf("front's bridge: %v", err)
	}
	if addrs, _ := h.AddrList(link, netlink.FAMILY_V4); len(addrs) != 1 || addrs[0].IPNet.String() != "198.18.80.254/24" {
		t.Errorf("front's bridge has %v", addrs)
	}

	same := [][]string{
		{"network", "ls"},
		{"network", "ls", "-q"},
		{"network", "ls", "--no-trunc"},
		{"network", "ls", "--filter", "name=fr"},
		{"network", "ls", "--filter", "driver=null"},
		{"network", "ls", "--filter", "type=custom", "--format", "{{.Name}} {{.Driver}} {{.IPv4}} {{.IPv6}} {{.Internal}}"},
		{"network", "ls", "--format", "json"},
		{"network", "inspect", "front"},
		{"network", "inspect", front[:6], "host", "none"},
		{"network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Containers}}", "back"},
	}
	for _, args := range same {
		want := mustSucceed(t, "docker", d.docker(args...))
		if got := mustSucceed(t, "skiff", d.skiff(args...)); got != want {
			t.Errorf("%v: skiff printed\n%s\ndocker printed\n%s", args, got, want)
		}
	}
	if out := mustSucceed(t, "ls", d.docker("network", "ls", "--filter", "name=front", "--format", "{{.Name}}")); out != "front\n" {
		t.Errorf("docker network ls --filter name=front: %q", out)
	}
	if out := mustSucceed(t, "inspect", d.docker("network", "inspect", "-f", "{{.Scope}} {{.Driver}} {{.IPAM.Driver}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", "front")); out != "local bridge default 198.18.80.0/24 198.18.80.254\n" {
		t.Errorf("docker network inspect front: %q", out)
	}

	refused := []struct {
		args []string
		want string
	}{
		{[]string{"network", "create", "front"}, "Error response from daemon: network with name front already exists\n"},
		{[]string{"network", "create", "--subnet", "198.18.80.128/25", "other"}, "Error response from daemon: create network other: subnet 198.18.80.128/25 overlaps 198.18.80.0/24 of network front\n"},
		{[]string{"network", "create", "-d", "overlay", "other"}, "Error response from daemon: plugin \"overlay\" not found\n"},
		{[]string{"network", "create", "--gateway", "198.18.81.1", "other"}, "every ip-range or gateway must have a corresponding subnet\n"},
		{[]string{"network", "rm", "host"}, "Error response from daemon: host is a pre-defined network and cannot be removed\nexit status 1\n"},
		{[]string{"network", "rm", "nosuch"}, "Error response from daemon: network nosuch not found\nexit status 1\n"},
		{[]string{"network", "inspect", "nosuch"}, "Error response from daemon: network nosuch not found\n"},
	}
	for _, tt := range refused {
		for name, cli := range map[string]func(...string) result{"docker": d.docker, "skiff": d.skiff} {
			r := cli(tt.args...)
			if r.code != 1 || r.stderr != tt.want {
				t.Errorf("%s %v: exit %d, stderr %q; want 1, %q", name, tt.args, r.code, r.stderr, tt.want)
			}
		}
	}
	if r := d.skiff("network", "rm", "-f", "nosuch"); r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("skiff network rm -f nosuch: %+v", r)
	}

	if out := mustSucceed(t, "skiff network rm", d.skiff("network", "rm", "front")); out != "front\n" {
		t.Errorf("skiff network rm printed %q", out)
	}
	if _, err := h.LinkByName("br-" + front[:12]); err == nil {
		t.Errorf("front's bridge is still there after rm")
	}
	mustSucceed(t, "create", d.skiff("network", "create", "--subnet", "198.18.82.0/24", "third"))
	// Answering no leaves everything, silently and successfully.
	prompt := "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] "
	for name, r := range map[string]result{
		"docker": run(t, []string{"DOCKER_HOST=unix://" + d.socket, "DOCKER_CONFIG=" + d.workDir + "/docker-config"}, []byte("n\n"), "docker", "network", "prune"),
		"skiff":  run(t, []string{"SKIFF_TEST_MAIN=1", "SKIFF_HOST=unix://" + d.socket}, []byte("n\n"), os.Args[0], "network", "prune"),
	} {
		if r.code != 0 || r.stdout != prompt || r.stderr != "" {
			t.Errorf("%s network prune, answered n: %+v", name, r)
		}
	}
	if out := mustSucceed(t, "skiff network prune", d.skiff("network", "prune", "-f")); out != "Deleted Networks:\nback\nthird\n\n" {
		t.Errorf("skiff network prune -f printed %q", out)
	}
	if out := mustSucceed(t, "docker network prune", d.docker("network", "prune", "-f")); out != "" {
		t.Errorf("a second prune printed %q", out)
	}

	events := mustSucceed(t, "docker events", d.docker("events", "--since", start, "--until", strconv.FormatInt(time.Now().Unix()+1, 10),
		"--filter", "type=network", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}}"))
	want := "network create front bridge\nnetwork create back bridge\nnetwork destroy front bridge\nnetwork create third bridge\nnetwork destroy back bridge\nnetwork destroy third bridge\n"
	if events != want {
		t.Errorf("network events:\n%s\nwant\n%s", events, want)
	}
}
