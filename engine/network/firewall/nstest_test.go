package firewall

import (
	"net"
	"net/netip"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// topology is a host, a container behind the host's bridge and a "world"
// beyond the host's uplink, each a fresh network namespace that vanishes
// with its last handle, taking its devices, addresses and rules with it.
//
//	world 192.0.2.2 ── up0 192.0.2.1 [host] skiff0 10.88.0.1 ── eth0 10.88.0.2 container
type topology struct {
	host, ctr, world netns.NsHandle
}

const bridge = "skiff0"

var (
	subnet    = netip.MustParsePrefix("10.88.0.0/24")
	gateway   = netip.MustParseAddr("10.88.0.1")
	ctrAddr   = netip.MustParseAddr("10.88.0.2")
	uplink    = netip.MustParseAddr("192.0.2.1")
	worldAddr = netip.MustParseAddr("192.0.2.2")
)

func newTopology(t *testing.T) *topology {
	t.Helper()
	if testing.Short() {
		t.Skip("needs root and network namespaces")
	}
	tp := &topology{host: newNetNS(t), ctr: newNetNS(t), world: newNetNS(t)}

	host := handleAt(t, tp.host)
	ctr := handleAt(t, tp.ctr)
	world := handleAt(t, tp.world)
	for _, h := range []*netlink.Handle{host, ctr, world} {
		linkUp(t, h, "lo")
	}

	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridge}}
	must(t, host.LinkAdd(br), "add bridge")
	addAddr(t, host, bridge, netip.PrefixFrom(gateway, 24))
	linkUp(t, host, bridge)

	// Container side: a veth into the bridge, the default route by the gateway.
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "vethc", MasterIndex: linkByName(t, host, bridge).Attrs().Index},
		PeerName: "eth0", PeerNamespace: netlink.NsFd(tp.ctr)}
	must(t, host.LinkAdd(veth), "add container veth")
	linkUp(t, host, "vethc")
	// With br_netfilter on (bridge-nf-call-iptables=1, the default) a
	// container's packet to its own published port is DNATed on the bridge
	// and must leave by the port it came in: hairpin mode, as Docker sets.
	must(t, host.LinkSetHairpin(linkByName(t, host, "vethc"), true), "hairpin on vethc")
	addAddr(t, ctr, "eth0", netip.PrefixFrom(ctrAddr, 24))
	linkUp(t, ctr, "eth0")
	must(t, ctr.RouteAdd(&netlink.Route{Gw: gateway.AsSlice()}), "container default route")

	// World side: no route back to the bridge subnet, so only masqueraded
	// traffic gets an answer.
	up := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "up0"}, PeerName: "eth0", PeerNamespace: netlink.NsFd(tp.world)}
	must(t, host.LinkAdd(up), "add uplink veth")
	addAddr(t, host, "up0", netip.PrefixFrom(uplink, 24))
	linkUp(t, host, "up0")
	addAddr(t, world, "eth0", netip.PrefixFrom(worldAddr, 24))
	linkUp(t, world, "eth0")
	return tp
}

// newNetNS creates a network namespace on a thread that is then retired, so
// no thread of the test process stays in it.
func newNetNS(t *testing.T) netns.NsHandle {
	t.Helper()
	type result struct {
		ns  netns.NsHandle
		err error
	}
	c := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		ns, err := netns.New()
		c <- result{ns, err}
	}()
	r := <-c
	if r.err != nil {
		t.Fatalf("create network namespace: %v", r.err)
	}
	t.Cleanup(func() { r.ns.Close() })
	return r.ns
}

// in runs fn on a thread in ns; sockets it opens stay in ns afterwards.
func in(t *testing.T, ns netns.NsHandle, fn func()) {
	t.Helper()
	must(t, inNetNS(ns, func() error { fn(); return nil }), "run in network namespace")
}

func handleAt(t *testing.T, ns netns.NsHandle) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(ns)
	must(t, err, "netlink handle")
	t.Cleanup(h.Close)
	return h
}

func linkByName(t *testing.T, h *netlink.Handle, name string) netlink.Link {
	t.Helper()
	l, err := h.LinkByName(name)
	must(t, err, "link "+name)
	return l
}

func linkUp(t *testing.T, h *netlink.Handle, name string) {
	t.Helper()
	must(t, h.LinkSetUp(linkByName(t, h, name)), "set "+name+" up")
}

func addAddr(t *testing.T, h *netlink.Handle, name string, p netip.Prefix) {
	t.Helper()
	ipnet := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}
	must(t, h.AddrAdd(linkByName(t, h, name), &netlink.Addr{IPNet: ipnet}), "address "+p.String()+" on "+name)
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
