package network

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"
)

// DefaultBridge is the interface name of the default network's bridge.
const DefaultBridge = "skiff0"

// EnsureBridge makes the namespace h is bound to have a bridge called name
// that is up and carries gateway (the gateway's address with its subnet's
// length, 172.17.0.1/16) as its only IPv4 address, creating the bridge if
// needed. mtu, when positive, is set on the bridge. Calling it again with
// the same arguments changes nothing, so the daemon calls it at every
// start.
func EnsureBridge(h *netlink.Handle, name string, gateway netip.Prefix, mtu int) (*netlink.Bridge, error) {
	br, err := bridge(h, name, mtu)
	if err != nil {
		return nil, err
	}
	if mtu > 0 && br.MTU != mtu {
		if err := h.LinkSetMTU(br, mtu); err != nil {
			return nil, fmt.Errorf("bridge %s: set MTU %d: %w", name, mtu, err)
		}
	}
	if err := setOnlyAddress(h, br, gateway); err != nil {
		return nil, fmt.Errorf("bridge %s: %w", name, err)
	}
	if err := h.LinkSetUp(br); err != nil {
		return nil, fmt.Errorf("bridge %s: bring up: %w", name, err)
	}
	return br, nil
}

// bridge returns the bridge called name, creating it if there is none.
func bridge(h *netlink.Handle, name string, mtu int) (*netlink.Bridge, error) {
	link, err := h.LinkByName(name)
	if err == nil {
		br, ok := link.(*netlink.Bridge)
		if !ok {
			return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("bridge %s: an interface of type %s has that name", name, link.Type()))
		}
		return br, nil
	}
	if !errors.As(err, &netlink.LinkNotFoundError{}) {
		return nil, fmt.Errorf("bridge %s: %w", name, err)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	attrs.MTU = mtu
	// A bridge without an address of its own takes the lowest of its ports'
	// MACs, so the gateway's MAC would change as containers come and go and
	// leave stale ARP entries in the others; a set one stays.
	attrs.HardwareAddr = randomMAC()
	if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: attrs}); err != nil {
		return nil, fmt.Errorf("create bridge %s: %w", name, err)
	}
	link, err = h.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("bridge %s: after creating it: %w", name, err)
	}
	return link.(*netlink.Bridge), nil
}

// setOnlyAddress adds addr to link and removes its other IPv4 addresses,
// which a subnet chosen at an earlier start would have left.
func setOnlyAddress(h *netlink.Handle, link netlink.Link, addr netip.Prefix) error {
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("list addresses: %w", err)
	}
	have := false
	for _, a := range addrs {
		if p, ok := prefixOf(a.IPNet); ok && p == addr {
			have = true
			continue
		}
		if err := h.AddrDel(link, &a); err != nil {
			return fmt.Errorf("remove stale address %s: %w", a.IPNet, err)
		}
	}
	if have {
		return nil
	}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipNet(addr)}); err != nil {
		return fmt.Errorf("add address %s: %w", addr, err)
	}
	return nil
}

// RemoveBridge deletes the bridge called name, if there is one; the veths
// still on it stay, detached.
func RemoveBridge(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove bridge %s: %w", name, err)
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("remove bridge %s: an interface of type %s has that name", name, link.Type()))
	}
	if err := h.LinkDel(link); err != nil {
		return fmt.Errorf("remove bridge %s: %w", name, err)
	}
	return nil
}

// UplinkMTU is the MTU of the interface that carries the namespace's IPv4
// default route in the main table (the host's uplink), or 1500 when there
// is none: containers must not send frames larger than the host can.
func UplinkMTU(h *netlink.Handle) (int, error) {
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return 0, fmt.Errorf("uplink MTU: list routes: %w", err)
	}
	for _, r := range routes {
		if !isDefault(r) || r.LinkIndex == 0 {
			continue
		}
		link, err := h.LinkByIndex(r.LinkIndex)
		if err != nil {
			return 0, fmt.Errorf("uplink MTU: default route's interface %d: %w", r.LinkIndex, err)
		}
		return link.Attrs().MTU, nil
	}
	return 1500, nil
}

// isDefault reports whether r is a default route: netlink gives those a nil
// or a 0.0.0.0/0 destination.
func isDefault(r netlink.Route) bool {
	if r.Dst == nil {
		return true
	}
	ones, _ := r.Dst.Mask.Size()
	return ones == 0
}

// randomMAC returns a random unicast, locally administered MAC address.
func randomMAC() net.HardwareAddr {
	mac := make(net.HardwareAddr, 6)
	rand.Read(mac)
	mac[0] = mac[0]&^0x01 | 0x02
	return mac
}
