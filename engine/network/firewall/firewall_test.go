package firewall

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func openFirewall(t *testing.T, ns netns.NsHandle) *Firewall {
	t.Helper()
	fw, err := Open(InNetNS(ns))
	must(t, err, "open firewall")
	t.Cleanup(func() {
		if err := fw.Destroy(); err != nil {
			t.Errorf("destroy: %v", err)
		}
	})
	return fw
}

// serveTCP answers every connection with the address it came from.
func serveTCP(t *testing.T, ns netns.NsHandle, addr string) {
	t.Helper()
	var l net.Listener
	var err error
	in(t, ns, func() { l, err = net.Listen("tcp4", addr) })
	must(t, err, "listen "+addr)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello %s\n", c.RemoteAddr())
			c.Close()
		}
	})
	t.Cleanup(func() { l.Close(); wg.Wait() })
}

// serveUDP echoes every datagram with the address it came from.
func serveUDP(t *testing.T, ns netns.NsHandle, addr string) {
	t.Helper()
	var pc net.PacketConn
	var err error
	in(t, ns, func() { pc, err = net.ListenPacket("udp4", addr) })
	must(t, err, "listen "+addr)
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			fmt.Fprintf(writerTo{pc, from}, "%s from %s\n", buf[:n], from)
		}
	})
	t.Cleanup(func() { pc.Close(); wg.Wait() })
}

type writerTo struct {
	pc net.PacketConn
	to net.Addr
}

func (w writerTo) Write(b []byte) (int, error) { return w.pc.WriteTo(b, w.to) }

// ask dials addr from ns and returns the first line of the answer; for udp
// it sends "ping" first.
func ask(t *testing.T, ns netns.NsHandle, network, addr string, timeout time.Duration) (string, error) {
	t.Helper()
	var c net.Conn
	var err error
	in(t, ns, func() { c, err = net.DialTimeout(network, addr, timeout) })
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if network == "udp4" {
		if _, err := c.Write([]byte("ping")); err != nil {
			return "", err
		}
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func TestPublish(t *testing.T) {
	tp := newTopology(t)
	serveTCP(t, tp.ctr, ":80")
	serveUDP(t, tp.ctr, ":53")
	fw := openFirewall(t, tp.host)
	must(t, fw.AddBridge(bridge, subnet), "add bridge")

	any := netip.IPv4Unspecified()
	loopback := netip.MustParseAddr("127.0.0.1")
	must(t, fw.Publish("c1", []Forward{
		{Proto: TCP, Host: netip.AddrPortFrom(any, 8080), Container: netip.AddrPortFrom(ctrAddr, 80)},
		{Proto: UDP, Host: netip.AddrPortFrom(any, 5353), Container: netip.AddrPortFrom(ctrAddr, 53)},
		{Proto: TCP, Host: netip.AddrPortFrom(loopback, 9090), Container: netip.AddrPortFrom(ctrAddr, 80)},
		{Proto: TCP, Host: netip.AddrPortFrom(uplink, 9191), Container: netip.AddrPortFrom(ctrAddr, 80)},
	}), "publish")

	tests := []struct {
		name    string
		from    netns.NsHandle
		network string
		addr    string
		want    string // prefix of the answer: the source the container saw
	}{
		{"host to loopback", tp.host, "tcp4", "127.0.0.1:8080", "hello 10.88.0.1:"},
		{"host to gateway", tp.host, "tcp4", "10.88.0.1:8080", "hello 10.88.0.1:"},
		{"host to uplink address", tp.host, "tcp4", "192.0.2.1:8080", "hello 192.0.2.1:"},
		{"host to loopback-only port", tp.host, "tcp4", "127.0.0.1:9090", "hello 10.88.0.1:"},
		{"host to port on one address", tp.host, "tcp4", "192.0.2.1:9191", "hello 192.0.2.1:"},
		{"world keeps its address", tp.world, "tcp4", "192.0.2.1:8080", "hello 192.0.2.2:"},
		{"container hairpin", tp.ctr, "tcp4", "192.0.2.1:8080", "hello 10.88.0.1:"},
		{"udp host to loopback", tp.host, "udp4", "127.0.0.1:5353", "ping from 10.88.0.1:"},
		{"udp host to gateway", tp.host, "udp4", "10.88.0.1:5353", "ping from 10.88.0.1:"},
		{"udp world", tp.world, "udp4", "192.0.2.1:5353", "ping from 192.0.2.2:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ask(t, tt.from, tt.network, tt.addr, 2*time.Second)
			if err != nil || !strings.HasPrefix(got, tt.want) {
				t.Errorf("%s %s: got %q, %v; want %q...", tt.network, tt.addr, got, err, tt.want)
			}
		})
	}

	t.Run("port published on the uplink address only", func(t *testing.T) {
		if _, err := ask(t, tp.host, "tcp4", "10.88.0.1:9191", time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("10.88.0.1:9191: %v, want connection refused", err)
		}
	})
	t.Run("port published on 127.0.0.1 only", func(t *testing.T) {
		if _, err := ask(t, tp.world, "tcp4", "192.0.2.1:9090", time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("192.0.2.1:9090 from the world: %v, want connection refused", err)
		}
	})
	t.Run("unpublished container ports are not routed to", func(t *testing.T) {
		world := handleAt(t, tp.world)
		route := &netlink.Route{Dst: prefixNet(subnet), Gw: uplink.AsSlice()}
		must(t, world.RouteAdd(route), "world route to the bridge subnet")
		if _, err := ask(t, tp.world, "tcp4", "10.88.0.2:80", 500*time.Millisecond); err == nil {
			t.Error("10.88.0.2:80 answered the world directly, want dropped")
		}
	})

	must(t, fw.Unpublish("c1"), "unpublish")
	for _, addr := range []string{"127.0.0.1:8080", "10.88.0.1:8080", "127.0.0.1:9090"} {
		if _, err := ask(t, tp.host, "tcp4", addr, time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("after unpublish, %s: %v, want connection refused", addr, err)
		}
	}
	counts, err := fw.Rules()
	must(t, err, "list rules")
	if n := counts[containerTag("c1")]; n != 0 {
		t.Errorf("after unpublish, %d rules of c1 left", n)
	}
}

func TestMasquerade(t *testing.T) {
	tp := newTopology(t)
	serveTCP(t, tp.world, ":7000")
	fw := openFirewall(t, tp.host)

	t.Run("without the bridge's rules the world cannot answer", func(t *testing.T) {
		if _, err := ask(t, tp.ctr, "tcp4", "192.0.2.2:7000", 500*time.Millisecond); err == nil {
			t.Error("the world answered an unmasqueraded container")
		}
	})
	must(t, fw.AddBridge(bridge, subnet), "add bridge")
	got, err := ask(t, tp.ctr, "tcp4", "192.0.2.2:7000", 2*time.Second)
	if err != nil || !strings.HasPrefix(got, "hello 192.0.2.1:") {
		t.Errorf("container to world: %q, %v; want the host's uplink address as source", got, err)
	}
}

func TestTableLifecycle(t *testing.T) {
	tp := newTopology(t)
	conn, err := nftables.New(nftables.WithNetNSFd(int(tp.host)))
	must(t, err, "nftables conn")

	// Stands for the host's own rules, which skiff must leave as they are.
	drop := nftables.ChainPolicyDrop
	hostTable := conn.AddTable(&nftables.Table{Name: "filter", Family: nftables.TableFamilyIPv4})
	conn.AddChain(&nftables.Chain{Name: "input", Table: hostTable, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &drop})
	must(t, conn.Flush(), "create the host's table")

	fw := openFirewall(t, tp.host)
	ctr := netip.AddrPortFrom(ctrAddr, 80)
	publish := []Forward{{Proto: TCP, Host: netip.AddrPortFrom(netip.IPv4Unspecified(), 8080), Container: ctr}}
	for range 2 {
		_, err := Open(InNetNS(tp.host))
		must(t, err, "reopen")
		must(t, fw.AddBridge(bridge, subnet), "add bridge")
		must(t, fw.Publish("c1", publish), "publish")
		must(t, fw.Publish("c2", publish[:1]), "publish")
	}
	counts, err := fw.Rules()
	must(t, err, "list rules")
	want := map[string]int{tagDispatch: 2, bridgeTag(bridge): 8, containerTag("c1"): 1, containerTag("c2"): 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("rules after doing everything twice: %v, want %v", counts, want)
	}

	must(t, fw.Unpublish("c1"), "unpublish")
	must(t, fw.Unpublish("c1"), "unpublish again")
	must(t, fw.RemoveBridge(bridge), "remove bridge")
	counts, err = fw.Rules()
	must(t, err, "list rules")
	want = map[string]int{tagDispatch: 2, containerTag("c2"): 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("rules after removals: %v, want %v", counts, want)
	}

	must(t, fw.Destroy(), "destroy")
	must(t, fw.Destroy(), "destroy again")
	tables, err := conn.ListTables()
	must(t, err, "list tables")
	if len(tables) != 1 || tables[0].Name != "filter" {
		t.Errorf("tables left: %v, want the host's filter only", tableNames(tables))
	}
	chain, err := conn.ListChain(hostTable, "input")
	must(t, err, "the host's chain")
	if chain.Policy == nil || *chain.Policy != drop {
		t.Errorf("the host's input policy changed to %v", chain.Policy)
	}
}

func tableNames(ts []*nftables.Table) []string {
	var names []string
	for _, t := range ts {
		names = append(names, t.Name)
	}
	return names
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}
}

func TestForwardValidate(t *testing.T) {
	ok := Forward{Proto: TCP, Host: netip.MustParseAddrPort("0.0.0.0:80"), Container: netip.MustParseAddrPort("10.0.0.2:8080")}
	tests := []struct {
		name    string
		edit    func(*Forward)
		wantErr bool
	}{
		{"valid", func(*Forward) {}, false},
		{"sctp", func(f *Forward) { f.Proto = "sctp" }, true},
		{"ipv6 host", func(f *Forward) { f.Host = netip.MustParseAddrPort("[::1]:80") }, true},
		{"host port 0", func(f *Forward) { f.Host = netip.MustParseAddrPort("0.0.0.0:0") }, true},
		{"no container address", func(f *Forward) { f.Container = netip.MustParseAddrPort("0.0.0.0:80") }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ok
			tt.edit(&f)
			if err := f.validate(); (err != nil) != tt.wantErr {
				t.Errorf("validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
