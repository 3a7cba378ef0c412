package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Endpoint is how a container is attached to a bridge.
type Endpoint struct {
	ContainerID string       // names the host end (see HostVethName)
	Bridge      string       // the bridge, in the host's namespace
	Address     netip.Prefix // the container's address with its subnet's length, 172.17.0.2/16
	// Gateway is the bridge's address, the container's default route; a
	// container has one default route, so its second network's endpoint
	// (eth1) has none and leaves Gateway zero.
	Gateway netip.Addr
	MTU     int    // of both ends; 0 takes the bridge's
	IfName  string // inside the container; "eth0" when empty
	// HostName names the host end; HostVethName(ContainerID) when empty.
	HostName string
	// MAC is the container end's address; nil lets the kernel pick one.
	MAC net.HardwareAddr
}

// MACFor is the MAC address Docker gives the container holding addr:
// 02:42 and the four bytes of the address, so that it follows the
// address and never clashes with another container's on the bridge.
func MACFor(addr netip.Addr) net.HardwareAddr {
	a := addr.As4()
	return net.HardwareAddr{0x02, 0x42, a[0], a[1], a[2], a[3]}
}

// HostVethName is the name of the host end of a container's veth:
// "skiff-" and the first 9 characters of its ID, 15 characters, the most
// an interface name may have.
func HostVethName(containerID string) string {
	return "skiff-" + containerID[:min(len(containerID), 9)]
}

// Attach connects the container whose network namespace is container to
// the bridge ep.Bridge of the namespace host is bound to: a veth pair is
// created with one end on the bridge and the other, created directly
// inside the container's namespace under its final name, given the
// address, the MTU and a default route via the gateway. On failure nothing
// is left behind.
func Attach(host *netlink.Handle, container netns.NsHandle, ep Endpoint) error {
	if ep.IfName == "" {
		ep.IfName = "eth0"
	}
	name := ep.hostName()
	br, err := host.LinkByName(ep.Bridge)
	if err != nil {
		return fmt.Errorf("attach %s: bridge %s: %w", name, ep.Bridge, err)
	}
	if ep.MTU <= 0 {
		ep.MTU = br.Attrs().MTU
	}
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{
			Name:  name,
			MTU:   ep.MTU,
			Flags: net.FlagUp,
			// No queue on either end: a veth hands packets straight to its
			// peer, so a qdisc only adds a lock and a copy.
			TxQLen: 0,
		},
		PeerName:         ep.IfName,
		PeerMTU:          uint32(ep.MTU),
		PeerHardwareAddr: ep.MAC,
		// Creating the peer in the container's namespace saves a move and a
		// rename, and its name never clashes in the host's.
		PeerNamespace: netlink.NsFd(container),
	}
	if err := host.LinkAdd(veth); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return errdefs.ErrConflict.WithMessage(fmt.Sprintf(
				"attach %s: %s already exists on the host or %s in the container: %v", name, name, ep.IfName, err))
		}
		return fmt.Errorf("attach %s: create veth: %w", name, err)
	}
	if err := configure(host, container, br, veth, ep); err != nil {
		// The peer dies with the host end.
		if derr := host.LinkDel(veth); derr != nil {
			err = errors.Join(err, fmt.Errorf("remove veth %s: %w", name, derr))
		}
		return fmt.Errorf("attach %s: %w", name, err)
	}
	return nil
}

// configure puts the host end of a new veth on the bridge and sets up the
// container's end.
func configure(host *netlink.Handle, container netns.NsHandle, br, veth netlink.Link, ep Endpoint) error {
	if err := host.LinkSetMaster(veth, br); err != nil {
		return fmt.Errorf("put on bridge %s: %w", ep.Bridge, err)
	}
	// A container reaching its own published port through a host address
	// has its DNATed frames sent back out of the port they came in by
	// (br_netfilter), which a bridge port does only in hairpin mode.
	if err := host.LinkSetHairpin(veth, true); err != nil {
		return fmt.Errorf("hairpin mode on bridge %s: %w", ep.Bridge, err)
	}
	h, err := netlink.NewHandleAt(container, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("open container namespace: %w", err)
	}
	defer h.Close()
	link, err := h.LinkByName(ep.IfName)
	if err != nil {
		return fmt.Errorf("%s in the container: %w", ep.IfName, err)
	}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipNet(ep.Address)}); err != nil {
		return fmt.Errorf("%s: add address %s: %w", ep.IfName, ep.Address, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("%s: bring up: %w", ep.IfName, err)
	}
	if !ep.Gateway.IsValid() {
		return nil
	}
	route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: ep.Gateway.AsSlice()}
	if err := h.RouteAdd(route); err != nil {
		return fmt.Errorf("%s: default route via %s: %w", ep.IfName, ep.Gateway, err)
	}
	return nil
}

// AttachPath is Attach for a namespace named by a path, such as
// /proc/<pid>/ns/net of the container's init.
func AttachPath(host *netlink.Handle, path string, ep Endpoint) error {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("attach %s: open network namespace %s: %w", ep.hostName(), path, err)
	}
	defer ns.Close()
	return Attach(host, ns, ep)
}

func (ep Endpoint) hostName() string {
	if ep.HostName != "" {
		return ep.HostName
	}
	return HostVethName(ep.ContainerID)
}

// Detach removes the container's veth from the namespace host is bound to;
// its peer in the container dies with it. A veth that is already gone (its
// container's namespace ended, which destroys the pair) is no error.
func Detach(host *netlink.Handle, containerID string) error {
	return DetachVeth(host, HostVethName(containerID))
}

// DetachVeth is Detach of the veth whose host end is name.
func DetachVeth(host *netlink.Handle, name string) error {
	link, err := host.LinkByName(name)
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("detach %s: %w", name, err)
	}
	if _, ok := link.(*netlink.Veth); !ok {
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("detach %s: an interface of type %s has that name", name, link.Type()))
	}
	if err := host.LinkDel(link); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("detach %s: %w", name, err)
	}
	return nil
}
