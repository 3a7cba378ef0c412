package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// DefaultSubnets are the candidates for the default bridge when no
// --bridge-subnet is given, in the order they are tried: the /16s of
// 172.17–172.31 (what users expect from Docker), then the /20s of
// 192.168.0.0/16.
var DefaultSubnets = defaultSubnets()

func defaultSubnets() []netip.Prefix {
	var list []netip.Prefix
	for b := byte(17); b <= 31; b++ {
		list = append(list, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, b, 0, 0}), 16))
	}
	for c := 0; c < 256; c += 16 {
		list = append(list, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(c), 0}), 20))
	}
	return list
}

// ParseSubnet parses a --bridge-subnet value: an IPv4 network in CIDR
// notation, without host bits, with room for a gateway and at least one
// container (/30 at most).
func ParseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid subnet %q: %v", s, err))
	}
	if err := checkSubnet(p); err != nil {
		return netip.Prefix{}, err
	}
	return p, nil
}

func checkSubnet(p netip.Prefix) error {
	switch {
	case !p.IsValid() || !p.Addr().Is4():
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid subnet %s: only IPv4 subnets are supported", p))
	case p.Bits() > 30:
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid subnet %s: too small for a gateway and a container (at most /30)", p))
	case p != p.Masked():
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid subnet %s: host bits are set (the network is %s)", p, p.Masked()))
	}
	return nil
}

// PickSubnet returns the first candidate that overlaps none of routes.
// Default routes (0.0.0.0/0) are ignored: they overlap everything and a
// more specific route on the bridge takes precedence over them.
func PickSubnet(routes, candidates []netip.Prefix) (netip.Prefix, error) {
next:
	for _, c := range candidates {
		for _, r := range routes {
			if r.Bits() > 0 && r.Overlaps(c) {
				continue next
			}
		}
		return c, nil
	}
	return netip.Prefix{}, errdefs.ErrResourceExhausted.WithMessage(
		"no free subnet for the bridge: every candidate overlaps a route of the host; choose one with --bridge-subnet")
}

// ChooseSubnet picks the first of candidates that overlaps no IPv4 route of
// the namespace h is bound to, in any routing table.
func ChooseSubnet(h *netlink.Handle, candidates []netip.Prefix) (netip.Prefix, error) {
	routes, err := routedPrefixes(h)
	if err != nil {
		return netip.Prefix{}, err
	}
	return PickSubnet(routes, candidates)
}

func routedPrefixes(h *netlink.Handle) ([]netip.Prefix, error) {
	// RT_TABLE_UNSPEC with the table filter lists every table: a route that
	// only policy routing uses (a VPN's table) must be avoided as well.
	routes, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	var list []netip.Prefix
	for _, r := range routes {
		if r.Dst == nil {
			continue // a default route
		}
		if p, ok := prefixOf(r.Dst); ok {
			list = append(list, p)
		}
	}
	return list, nil
}

// prefixOf converts an IPv4 net.IPNet to a netip.Prefix.
func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), bits), true
}

// ipNet converts an address with a prefix length (172.17.0.2/16) to the
// net.IPNet netlink takes.
func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// firstHost is the subnet's lowest usable address, the default gateway.
func firstHost(subnet netip.Prefix) netip.Addr {
	return subnet.Masked().Addr().Next()
}

// broadcast is the subnet's highest address.
func broadcast(subnet netip.Prefix) netip.Addr {
	a := subnet.Masked().Addr().As4()
	for i := subnet.Bits(); i < 32; i++ {
		a[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(a)
}
