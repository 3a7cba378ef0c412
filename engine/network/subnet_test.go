package network

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"
)

func prefixes(ss ...string) []netip.Prefix {
	var list []netip.Prefix
	for _, s := range ss {
		list = append(list, netip.MustParsePrefix(s))
	}
	return list
}

func TestPickSubnet(t *testing.T) {
	tests := []struct {
		name       string
		routes     []netip.Prefix
		candidates []netip.Prefix
		want       string // "" when none is free
	}{
		{"no routes", nil, DefaultSubnets, "172.17.0.0/16"},
		{"default route ignored", prefixes("0.0.0.0/0"), DefaultSubnets, "172.17.0.0/16"},
		{"same subnet", prefixes("172.17.0.0/16"), DefaultSubnets, "172.18.0.0/16"},
		{"narrower route inside", prefixes("172.17.5.0/24"), DefaultSubnets, "172.18.0.0/16"},
		{"host route inside", prefixes("172.17.200.9/32"), DefaultSubnets, "172.18.0.0/16"},
		{"wider route around", prefixes("172.16.0.0/12"), DefaultSubnets, "192.168.0.0/20"},
		{"unrelated routes", prefixes("10.0.0.0/8", "192.168.1.0/24", "127.0.0.0/8"), DefaultSubnets, "172.17.0.0/16"},
		{"192.168 partly used", prefixes("172.16.0.0/12", "192.168.0.0/24", "192.168.16.0/20"), DefaultSubnets, "192.168.32.0/20"},
		{"all taken", prefixes("172.16.0.0/12", "192.168.0.0/16"), DefaultSubnets, ""},
		{"no candidates", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PickSubnet(tt.routes, tt.candidates)
			if tt.want == "" {
				if !errdefs.IsResourceExhausted(err) {
					t.Fatalf("PickSubnet = %v, %v; want a resource exhausted error", got, err)
				}
				return
			}
			if err != nil || got != netip.MustParsePrefix(tt.want) {
				t.Fatalf("PickSubnet = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestParseSubnet(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // "" for valid
	}{
		{"172.17.0.0/16", ""},
		{"10.1.2.0/24", ""},
		{"10.1.2.4/30", ""},
		{"10.1.2.0/31", "too small"},
		{"172.17.0.1/16", "host bits are set (the network is 172.17.0.0/16)"},
		{"fd00::/64", "only IPv4"},
		{"172.17.0.0", "invalid subnet"},
		{"", "invalid subnet"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSubnet(tt.in)
			if tt.wantErr == "" {
				if err != nil || got.String() != tt.in {
					t.Fatalf("ParseSubnet = %v, %v; want %s", got, err, tt.in)
				}
				return
			}
			if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseSubnet = %v, %v; want an invalid argument error with %q", got, err, tt.wantErr)
			}
		})
	}
}

func TestBroadcastAndFirstHost(t *testing.T) {
	tests := []struct{ subnet, first, last string }{
		{"172.17.0.0/16", "172.17.0.1", "172.17.255.255"},
		{"10.1.2.0/24", "10.1.2.1", "10.1.2.255"},
		{"10.1.2.8/29", "10.1.2.9", "10.1.2.15"},
		{"192.168.16.0/20", "192.168.16.1", "192.168.31.255"},
	}
	for _, tt := range tests {
		p := netip.MustParsePrefix(tt.subnet)
		if got := firstHost(p).String(); got != tt.first {
			t.Errorf("firstHost(%s) = %s, want %s", p, got, tt.first)
		}
		if got := broadcast(p).String(); got != tt.last {
			t.Errorf("broadcast(%s) = %s, want %s", p, got, tt.last)
		}
	}
}

// ChooseSubnet reads the namespace's routes, of every table.
func TestChooseSubnetAvoidsRoutes(t *testing.T) {
	_, h := newNetns(t)
	// A bridge stands in for an uplink: the uplink driver may be missing.
	uplink := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "uplink0"}}
	if err := h.LinkAdd(uplink); err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(uplink); err != nil {
		t.Fatal(err)
	}
	// A connected route for 172.17.0.0/16 in main, 172.18.0.0/16 only in
	// table 100, and a default route that must not rule out everything.
	if err := h.AddrAdd(uplink, &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix("172.17.0.2/16"))}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*netlink.Route{
		{LinkIndex: uplink.Index, Dst: ipNet(netip.MustParsePrefix("172.18.0.0/16")), Table: 100},
		{LinkIndex: uplink.Index, Gw: netip.MustParseAddr("172.17.0.1").AsSlice()},
	} {
		if err := h.RouteAdd(r); err != nil {
			t.Fatalf("add route %v: %v", r, err)
		}
	}
	got, err := ChooseSubnet(h, DefaultSubnets)
	if err != nil || got != netip.MustParsePrefix("172.19.0.0/16") {
		t.Fatalf("ChooseSubnet = %v, %v; want 172.19.0.0/16", got, err)
	}
	routes, err := routedPrefixes(h)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(routes, netip.MustParsePrefix("172.18.0.0/16")) {
		t.Errorf("routes of table 100 missing from %v", routes)
	}
}
