package main

// Helpers of the networking tests: each daemon's own bridge and subnet,
// daemons in network namespaces of the test's, HTTP on a namespace's
// loopback, and what a daemon's networking may leave behind.

import (
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/skiff-dev/skiff/engine/network"
	"github.com/skiff-dev/skiff/engine/network/firewall"
)

// testBridge names a bridge and picks a subnet for one test daemon, so
// that daemons running side by side never share either: a random name,
// and a /24 of 10.200.0.0-10.254.255.0 that no route of ns overlaps.
func testBridge(t testing.TB, ns netns.NsHandle) (string, string) {
	t.Helper()
	b := make([]byte, 5)
	crand.Read(b)
	var candidates []netip.Prefix
	for range 64 {
		candidates = append(candidates, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(200 + rand.IntN(55)), byte(rand.IntN(256)), 0}), 24))
	}
	h, err := netlink.NewHandleAt(nsOrCurrent(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	subnet, err := network.ChooseSubnet(h, candidates)
	if err != nil {
		t.Fatal(err)
	}
	return "skt" + hex.EncodeToString(b), subnet.String()
}

// bridgeFlags are the serve flags that give another daemon d's network.
func (d *skiffd) bridgeFlags() []string {
	return []string{"--bridge", d.bridge, "--bridge-subnet", d.subnet}
}

// newNetNS makes a network namespace with loopback up, closed (and gone
// once nothing runs in it) when the test ends.
func newNetNS(t testing.TB) netns.NsHandle {
	t.Helper()
	var ns netns.NsHandle
	err := onThread(func() error {
		var err error
		if ns, err = netns.New(); err != nil {
			return fmt.Errorf("new network namespace: %w", err)
		}
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(lo)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// startSkiffdInNetNS starts a daemon in a network namespace of its own:
// its bridge, firewall table and published ports are out of every other
// test's way and of the host's rules (this machine's iptables FORWARD
// policy, left by Docker, drops traffic between other bridges' ports).
func startSkiffdInNetNS(t testing.TB) *skiffd {
	t.Helper()
	return startSkiffdIn(t, newNetNS(t), "")
}

// inNetNS runs fn on a thread in ns (in the caller's namespace when ns is
// not open): sockets it makes and processes it starts belong to ns.
func inNetNS(ns netns.NsHandle, fn func() error) error {
	if !ns.IsOpen() {
		return fn()
	}
	return onThread(func() error {
		if err := netns.Set(ns); err != nil {
			return fmt.Errorf("enter network namespace: %w", err)
		}
		return fn()
	})
}

// onThread runs fn on a locked thread of its own, which is never handed
// back to the scheduler: a namespace fn enters dies with the thread.
func onThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- fn()
	}()
	return <-errc
}

func nsOrCurrent(ns netns.NsHandle) netns.NsHandle {
	if ns.IsOpen() {
		return ns
	}
	cur, _ := netns.Get()
	return cur
}

// httpGet fetches url (http://127.0.0.1:port/path) from d's network
// namespace with a plain HTTP/1.0 request, and returns the body.
func (d *skiffd) httpGet(url string) (string, error) {
	hostPath := strings.TrimPrefix(url, "http://")
	host, path, _ := strings.Cut(hostPath, "/")
	var body string
	err := inNetNS(d.netns, func() error {
		c, err := net.DialTimeout("tcp4", host, 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET /%s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host)
		b, err := io.ReadAll(c)
		if err != nil {
			return err
		}
		head, rest, _ := strings.Cut(string(b), "\r\n\r\n")
		if !strings.Contains(strings.SplitN(head, "\r\n", 2)[0], " 200 ") {
			return fmt.Errorf("GET %s: %s", url, strings.SplitN(head, "\r\n", 2)[0])
		}
		body = rest
		return nil
	})
	return body, err
}

// networkOf counts the veths and the firewall rules the containers ids
// of d hold in d's namespace.
func (d *skiffd) networkOf(t *testing.T, ids []string) (veths, rules int) {
	t.Helper()
	h, err := netlink.NewHandleAt(nsOrCurrent(d.netns))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	tags := map[string]bool{}
	for _, id := range ids {
		if _, err := h.LinkByName(network.HostVethName(id)); err == nil {
			veths++
		}
		tags["container "+id] = true
	}
	for tag, n := range d.firewallRules(t) {
		if tags[tag] {
			rules += n
		}
	}
	return veths, rules
}

// firewallRules counts the rules of d's firewall table by tag; none when
// the table is gone.
func (d *skiffd) firewallRules(t testing.TB) map[string]int {
	counts := map[string]int{}
	conn, err := nftables.New(nftables.WithNetNSFd(int(nsOrCurrent(d.netns))))
	if err != nil {
		t.Fatal(err)
	}
	table := d.table()
	chains, err := conn.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chains {
		if c.Table.Name != table.Name {
			continue
		}
		rules, err := conn.GetRules(table, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			tag, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			counts[tag]++
		}
	}
	return counts
}

func (d *skiffd) table() *nftables.Table {
	return &nftables.Table{Name: firewall.TableName + "-" + d.bridge, Family: nftables.TableFamilyIPv4}
}

// networkLeftovers describes what of d's network is left after it stopped:
// its bridge, veths on it, its firewall table.
func (d *skiffd) networkLeftovers() string {
	h, err := netlink.NewHandleAt(nsOrCurrent(d.netns))
	if err != nil {
		return err.Error()
	}
	defer h.Close()
	var left []string
	if _, err := h.LinkByName(d.bridge); err == nil {
		left = append(left, "bridge "+d.bridge)
	}
	links, _ := h.LinkList()
	for _, l := range links {
		if _, ok := l.(*netlink.Veth); ok && strings.HasPrefix(l.Attrs().Name, "skiff-") && l.Attrs().MasterIndex != 0 {
			if master, err := h.LinkByIndex(l.Attrs().MasterIndex); err == nil && master.Attrs().Name == d.bridge {
				left = append(left, "veth "+l.Attrs().Name)
			}
		}
	}
	conn, err := nftables.New(nftables.WithNetNSFd(int(nsOrCurrent(d.netns))))
	if err == nil {
		tables, _ := conn.ListTablesOfFamily(nftables.TableFamilyIPv4)
		for _, tb := range tables {
			if tb.Name == d.table().Name {
				left = append(left, "nftables table ip "+tb.Name)
			}
		}
	}
	return strings.Join(left, ", ")
}
