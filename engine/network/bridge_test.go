package network

import (
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"
)

func TestEnsureBridge(t *testing.T) {
	gw := netip.MustParsePrefix("10.77.0.1/24")
	tests := []struct {
		name    string
		before  func(t *testing.T, h *netlink.Handle) // what the namespace has already
		wantErr func(error) bool
	}{
		{"fresh", func(*testing.T, *netlink.Handle) {}, nil},
		{"already there", func(t *testing.T, h *netlink.Handle) {
			if _, err := EnsureBridge(h, "skiff0", gw, 1500); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"down with a stale subnet and MTU", func(t *testing.T, h *netlink.Handle) {
			br, err := EnsureBridge(h, "skiff0", netip.MustParsePrefix("10.66.0.1/16"), 1400)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.LinkSetDown(br); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"name taken by a veth", func(t *testing.T, h *netlink.Handle) {
			if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "skiff0"}, PeerName: "other"}); err != nil {
				t.Fatal(err)
			}
		}, errdefs.IsConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, h := newNetns(t)
			tt.before(t, h)
			br, err := EnsureBridge(h, "skiff0", gw, 1450)
			if tt.wantErr != nil {
				if !tt.wantErr(err) {
					t.Fatalf("EnsureBridge: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			link, err := h.LinkByName("skiff0")
			if err != nil {
				t.Fatal(err)
			}
			if link.Attrs().Index != br.Index || link.Type() != "bridge" {
				t.Errorf("got %s %d, returned %d", link.Type(), link.Attrs().Index, br.Index)
			}
			if link.Attrs().Flags&net.FlagUp == 0 || link.Attrs().MTU != 1450 {
				t.Errorf("flags %v, MTU %d; want up, 1450", link.Attrs().Flags, link.Attrs().MTU)
			}
			if got := addrs(t, h, link); !slices.Equal(got, []netip.Prefix{gw}) {
				t.Errorf("addresses %v, want only %s", got, gw)
			}
		})
	}
}

// The bridge keeps its own MAC when ports come and go, so containers'
// ARP entries for the gateway stay right.
func TestBridgeMACIsStable(t *testing.T) {
	_, h := newNetns(t)
	br, err := EnsureBridge(h, "skiff0", netip.MustParsePrefix("10.77.0.1/24"), 0)
	if err != nil {
		t.Fatal(err)
	}
	mac := br.HardwareAddr.String()
	// A port with a lower MAC than any random one would take over the
	// bridge's otherwise.
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "port0", HardwareAddr: net.HardwareAddr{0, 0, 0, 0, 0, 1}}, PeerName: "port1"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetMaster(veth, br); err != nil {
		t.Fatal(err)
	}
	after, err := h.LinkByName("skiff0")
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Attrs().HardwareAddr.String(); got != mac {
		t.Errorf("bridge MAC went from %s to %s", mac, got)
	}
}

func TestRemoveBridge(t *testing.T) {
	_, h := newNetns(t)
	if err := RemoveBridge(h, "skiff0"); err != nil {
		t.Fatalf("removing a missing bridge: %v", err)
	}
	if _, err := EnsureBridge(h, "skiff0", netip.MustParsePrefix("10.77.0.1/24"), 0); err != nil {
		t.Fatal(err)
	}
	if err := RemoveBridge(h, "skiff0"); err != nil {
		t.Fatal(err)
	}
	if _, ok := links(t, h)["skiff0"]; ok {
		t.Error("bridge still there")
	}
}

func TestUplinkMTU(t *testing.T) {
	_, h := newNetns(t)
	if got, err := UplinkMTU(h); err != nil || got != 1500 {
		t.Fatalf("UplinkMTU without a default route = %d, %v; want 1500", got, err)
	}
	uplink := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "uplink0", MTU: 1400}}
	if err := h.LinkAdd(uplink); err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(uplink); err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(uplink, &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix("10.99.0.2/24"))}); err != nil {
		t.Fatal(err)
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: uplink.Index, Gw: netip.MustParseAddr("10.99.0.1").AsSlice()}); err != nil {
		t.Fatal(err)
	}
	if got, err := UplinkMTU(h); err != nil || got != 1400 {
		t.Fatalf("UplinkMTU = %d, %v; want 1400", got, err)
	}
}
