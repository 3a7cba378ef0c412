package network

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func TestHostVethName(t *testing.T) {
	tests := []struct{ id, want string }{
		{"4f2a9c1be07d6a5f3c2b1a09e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9", "skiff-4f2a9c1be"},
		{"abc", "skiff-abc"},
	}
	for _, tt := range tests {
		if got := HostVethName(tt.id); got != tt.want || len(got) > 15 {
			t.Errorf("HostVethName(%s) = %s, want %s", tt.id, got, tt.want)
		}
	}
}

// attachTest is a "host" namespace with a bridge on 10.88.0.0/24 and the
// namespaces of two "containers".
type attachTest struct {
	host       *netlink.Handle
	containers [2]netns.NsHandle
	handles    [2]*netlink.Handle
}

const bridgeMTU = 1460

var (
	testGateway = netip.MustParseAddr("10.88.0.1")
	testIDs     = [2]string{"aaaaaaaaaaaa1111", "bbbbbbbbbbbb2222"}
)

func newAttachTest(t *testing.T) *attachTest {
	_, host := newNetns(t)
	if _, err := EnsureBridge(host, "skiff0", netip.PrefixFrom(testGateway, 24), bridgeMTU); err != nil {
		t.Fatal(err)
	}
	at := &attachTest{host: host}
	for i := range at.containers {
		at.containers[i], at.handles[i] = newNetns(t)
	}
	return at
}

func (at *attachTest) endpoint(i int) Endpoint {
	return Endpoint{
		ContainerID: testIDs[i],
		Bridge:      "skiff0",
		Address:     netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 88, 0, byte(2 + i)}), 24),
		Gateway:     testGateway,
	}
}

// Two containers on one bridge reach each other by address over TCP, and
// Detach leaves no interface behind on either side.
func TestAttachConnectsContainers(t *testing.T) {
	at := newAttachTest(t)
	for i, ns := range at.containers {
		if err := Attach(at.host, ns, at.endpoint(i)); err != nil {
			t.Fatalf("Attach %d: %v", i, err)
		}
	}

	for i, h := range at.handles {
		eth0, err := h.LinkByName("eth0")
		if err != nil {
			t.Fatalf("container %d: %v", i, err)
		}
		if got := addrs(t, h, eth0); !slices.Equal(got, []netip.Prefix{at.endpoint(i).Address}) {
			t.Errorf("container %d: addresses %v, want %s", i, got, at.endpoint(i).Address)
		}
		if eth0.Attrs().MTU != bridgeMTU || eth0.Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("container %d: MTU %d, flags %v; want %d, up", i, eth0.Attrs().MTU, eth0.Attrs().Flags, bridgeMTU)
		}
		routes, err := h.RouteList(nil, netlink.FAMILY_V4)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(routes, func(r netlink.Route) bool { return isDefault(r) && testGateway.Compare(addrOf(r.Gw)) == 0 }) {
			t.Errorf("container %d: no default route via %s in %v", i, testGateway, routes)
		}
		hostEnd, err := at.host.LinkByName(HostVethName(testIDs[i]))
		if err != nil {
			t.Fatalf("host end of container %d: %v", i, err)
		}
		br, _ := at.host.LinkByName("skiff0")
		if hostEnd.Attrs().MasterIndex != br.Attrs().Index || hostEnd.Attrs().MTU != bridgeMTU {
			t.Errorf("host end of container %d: master %d, MTU %d; want %d, %d",
				i, hostEnd.Attrs().MasterIndex, hostEnd.Attrs().MTU, br.Attrs().Index, bridgeMTU)
		}
	}

	// Listen in container 0, connect from container 1 by address.
	var ln net.Listener
	err := inNetns(at.containers[0], func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(at.endpoint(0).Address.Addr().String(), "0"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		_, err = fmt.Fprintf(c, "from %s to %s", c.LocalAddr(), c.RemoteAddr())
		served <- err
	}()
	var reply []byte
	err = inNetns(at.containers[1], func() error {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		reply, err = io.ReadAll(c)
		return err
	})
	if err != nil {
		t.Fatalf("connect from container 1: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if want := "from " + ln.Addr().String() + " to 10.88.0.3:"; !strings.HasPrefix(string(reply), want) {
		t.Errorf("reply %q, want it to start with %q", reply, want)
	}

	for i := range at.containers {
		if err := Detach(at.host, testIDs[i]); err != nil {
			t.Fatalf("Detach %d: %v", i, err)
		}
		if err := Detach(at.host, testIDs[i]); err != nil {
			t.Fatalf("Detach %d again: %v", i, err)
		}
	}
	assertNoVeths(t, at)
}

// A failing Attach leaves nothing behind, and one that finds the container
// attached already leaves that attachment alone.
func TestAttachFailures(t *testing.T) {
	at := newAttachTest(t)

	bad := at.endpoint(0)
	bad.Gateway = netip.MustParseAddr("10.99.0.1") // not on the container's subnet: the route fails
	if err := Attach(at.host, at.containers[0], bad); err == nil || !strings.Contains(err.Error(), "default route via 10.99.0.1") {
		t.Fatalf("Attach with an unreachable gateway: %v", err)
	}
	missing := at.endpoint(0)
	missing.Bridge = "skiff9"
	if err := Attach(at.host, at.containers[0], missing); err == nil || !strings.Contains(err.Error(), "bridge skiff9") {
		t.Fatalf("Attach to a missing bridge: %v", err)
	}
	assertNoVeths(t, at)

	if err := Attach(at.host, at.containers[0], at.endpoint(0)); err != nil {
		t.Fatal(err)
	}
	if err := Attach(at.host, at.containers[0], at.endpoint(0)); !errdefs.IsConflict(err) {
		t.Fatalf("second Attach: %v, want a conflict", err)
	}
	if _, err := at.handles[0].LinkByName("eth0"); err != nil {
		t.Fatalf("the first attachment is gone: %v", err)
	}
	if err := Detach(at.host, testIDs[0]); err != nil {
		t.Fatal(err)
	}
	assertNoVeths(t, at)
}

// AttachPath takes the namespace as a path, as /proc/<pid>/ns/net.
func TestAttachPath(t *testing.T) {
	at := newAttachTest(t)
	// The handle's descriptor names the namespace as /proc/<pid>/ns/net would.
	path := fmt.Sprintf("/proc/self/fd/%d", int(at.containers[0]))
	if err := AttachPath(at.host, path, at.endpoint(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := at.handles[0].LinkByName("eth0"); err != nil {
		t.Fatalf("eth0 in the container: %v", err)
	}
	if err := AttachPath(at.host, "/nonexistent/ns", at.endpoint(1)); err == nil || !strings.Contains(err.Error(), "open network namespace /nonexistent/ns") {
		t.Fatalf("AttachPath with a missing namespace: %v", err)
	}
	if err := Detach(at.host, testIDs[0]); err != nil {
		t.Fatal(err)
	}
	assertNoVeths(t, at)
}

// assertNoVeths checks that the host namespace has only its bridge (and
// lo) and each container only lo.
func assertNoVeths(t *testing.T, at *attachTest) {
	t.Helper()
	for name, l := range links(t, at.host) {
		if name != "lo" && name != "skiff0" {
			t.Errorf("host namespace: %s (%s) left behind", name, l.Type())
		}
	}
	for i, h := range at.handles {
		for name := range links(t, h) {
			if name != "lo" {
				t.Errorf("container %d: %s left behind", i, name)
			}
		}
	}
}

func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}
