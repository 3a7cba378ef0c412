package main

// User-defined networks end to end, each daemon in a network namespace of
// its own: containers resolve each other by name through the network's
// DNS responder (not on the default bridge), network connect and
// disconnect of a running container, a network in use refused, a daemon
// restart, and nothing left once everything is removed.

import (
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
)

func TestUserDefinedNetworkResolvesNames(t *testing.T) {
	t.Parallel()
	d := startSkiffdInNetNS(t)
	d.importImage(t, "busybox", nil)

	netID := strings.TrimSpace(mustSucceed(t, "network create", d.docker("network", "create", "app")))
	bridge, table := "br-"+netID[:12], "skiff-br-"+netID[:12]
	subnet := inspect(t, d, "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", "app")
	gateway := strings.Fields(subnet)[1]
	if got := d.userNetworkLeft(t, bridge, table); got != "bridge table" {
		t.Fatalf("network create app made %q, want its bridge and table", got)
	}

	webID := strings.TrimSpace(mustSucceed(t, "run -d --network app", d.skiff("run", "-d", "--network", "app", "--network-alias", "www", "--name", "web", "busybox", "sh", "-c", webCmd)))
	page := "hello from " + webID[:12] + "\n"
	// The first client waits for httpd; by name, through the responder.
	waitFor(t, "web answers by name on app", func() bool {
		return d.docker("run", "--rm", "--network", "app", "busybox", "wget", "-qO-", "http://web/").stdout == page
	})
	for _, cli := range []func(...string) result{d.skiff, d.docker} {
		for _, name := range []string{"web", "www", webID[:12], "WEB"} {
			if out := mustSucceed(t, "wget "+name, cli("run", "--rm", "--network", "app", "busybox", "wget", "-qO-", "http://"+name+"/")); out != page {
				t.Errorf("wget http://%s/ from a container on app: %q", name, out)
			}
		}
	}
	if out := mustSucceed(t, "resolv.conf", d.docker("exec", "web", "cat", "/etc/resolv.conf")); !strings.HasPrefix(out, "nameserver "+gateway+"\n") {
		t.Errorf("resolv.conf on app:\n%s", out)
	}
	if got := inspect(t, d, "{{.NetworkSettings.Networks.app.IPAddress}} {{.NetworkSettings.Networks.app.Aliases}}", "web"); !strings.HasSuffix(got, " [www]") {
		t.Errorf("inspect web's endpoint on app: %q", got)
	}

	// The default bridge has no names: Docker's behaviour.
	if r := d.docker("run", "--rm", "busybox", "nslookup", "web"); r.code == 0 {
		t.Errorf("nslookup web from the default bridge resolved it:\n%s", r.stdout)
	}
	// Nor does app's responder answer a client of another network.
	if r := d.docker("run", "--rm", "busybox", "nslookup", "web", gateway); r.code == 0 {
		t.Errorf("app's responder answered a container of the default bridge:\n%s", r.stdout)
	}

	// connect and disconnect a running container of the default bridge.
	since := time.Now()
	boxID := strings.TrimSpace(mustSucceed(t, "run -d", d.docker("run", "-d", "--name", "box", "busybox", "sleep", "1000")))
	if out := mustSucceed(t, "ip addr", d.docker("exec", "box", "ip", "addr")); strings.Contains(out, "eth1") {
		t.Fatalf("box has eth1 before connect:\n%s", out)
	}
	mustSucceed(t, "network connect", d.docker("network", "connect", "app", "box"))
	boxIP := inspect(t, d, "{{.NetworkSettings.Networks.app.IPAddress}}", "box")
	if out := mustSucceed(t, "ip addr", d.docker("exec", "box", "ip", "-4", "addr", "show", "eth1")); !strings.Contains(out, "inet "+boxIP+"/") {
		t.Errorf("eth1 after connect (app address %s):\n%s", boxIP, out)
	}
	webIP := inspect(t, d, "{{.NetworkSettings.Networks.app.IPAddress}}", "web")
	if out := mustSucceed(t, "wget over eth1", d.docker("exec", "box", "wget", "-qO-", "http://"+webIP+"/")); out != page {
		t.Errorf("box to web over app: %q", out)
	}
	if got := mustSucceed(t, "network inspect", d.skiff("network", "inspect", "-f", "{{range .Containers}}{{.Name}}={{.IPv4Address}} {{end}}", "app")); !strings.Contains(got, "box="+boxIP+"/") || !strings.Contains(got, "web=") {
		t.Errorf("network inspect app's containers: %q", got)
	}
	if r := d.skiff("network", "connect", "app", "box"); r.code == 0 || !strings.Contains(r.stderr, "already exists in network app") {
		t.Errorf("connecting box twice: %+v", r)
	}
	mustSucceed(t, "network disconnect", d.skiff("network", "disconnect", "app", "box"))
	if out := mustSucceed(t, "ip addr", d.docker("exec", "box", "ip", "addr")); strings.Contains(out, "eth1") {
		t.Errorf("box still has eth1 after disconnect:\n%s", out)
	}
	events := strings.Join(d.dockerEvents(t, since, "--filter", "type=network", "--format", "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.container}}"), "\n")
	for _, want := range []string{"connect bridge " + boxID, "connect app " + boxID, "disconnect app " + boxID} {
		if !strings.Contains(events, want) {
			t.Errorf("network events lack %q:\n%s", want, events)
		}
	}

	// A network in use is refused; a stopped container connected holds it too.
	mustSucceed(t, "connect stopped", d.docker("network", "connect", "app", mustSucceed(t, "create", d.docker("create", "--name", "later", "busybox", "true"))[:12]))
	if r := d.docker("network", "rm", "app"); r.code == 0 || !strings.Contains(r.stderr, "has active endpoints") {
		t.Errorf("network rm app with web on it: %+v", r)
	}

	// A killed daemon's successor sets app up again: web still answers by name.
	d.killDaemon(t)
	d2 := d.restartDaemon(t)
	for _, cli := range []func(...string) result{d2.skiff, d2.docker} {
		if out := mustSucceed(t, "wget after restart", cli("run", "--rm", "--network", "app", "busybox", "wget", "-qO-", "http://web/")); out != page {
			t.Errorf("wget http://web/ after a daemon restart: %q", out)
		}
	}

	// Everything removed: no bridge, table or responder of app is left.
	mustSucceed(t, "rm", d2.docker("rm", "-f", "web", "box", "later"))
	mustSucceed(t, "network rm", d2.docker("network", "rm", "app"))
	if got := d2.userNetworkLeft(t, bridge, table); got != "" {
		t.Errorf("after network rm app: %s left", got)
	}
	// The responder let go of the gateway's port 53: a network on the same
	// gateway starts its own there.
	mustSucceed(t, "network create again", d2.docker("network", "create", "--subnet", strings.Fields(subnet)[0], "--gateway", gateway, "again"))
	mustSucceed(t, "network rm again", d2.docker("network", "rm", "again"))
}

// userNetworkLeft says which of a user-defined network's bridge and
// firewall table exist in d's namespace.
func (d *skiffd) userNetworkLeft(t *testing.T, bridge, table string) string {
	t.Helper()
	h, err := netlink.NewHandleAt(nsOrCurrent(d.netns))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var left []string
	if _, err := h.LinkByName(bridge); err == nil {
		left = append(left, "bridge")
	}
	conn, err := nftables.New(nftables.WithNetNSFd(int(nsOrCurrent(d.netns))))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := conn.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if tb.Name == table {
			left = append(left, "table")
		}
	}
	return strings.Join(left, " ")
}
