package container

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"

	"github.com/skiff-dev/skiff/engine/network"
	"github.com/skiff-dev/skiff/engine/network/firewall"
	"github.com/skiff-dev/skiff/engine/network/portmap"
)

// Bridge is the default network, "bridge", as the engine set it up at
// daemon start: its IPAM row, its bridge device and its firewall table.
type Bridge struct {
	Network  network.Network
	IPAM     *network.IPAM
	Firewall *firewall.Firewall
	MTU      int
}

// NetworkState is where a container running on the bridge is reachable:
// its address and the host ports published to it. It is part of the
// container's state while it runs, and cleared when it stops (the address
// stays the container's in IPAM, so a restart gets it again).
type NetworkState struct {
	NetworkID string
	Address   netip.Prefix // with the subnet's length
	Gateway   netip.Addr
	MAC       string
	Ports     []PublishedPort `json:",omitempty"`
}

// PublishedPort is a host port reserved and forwarded to the container.
type PublishedPort struct {
	Proto         string // "tcp" or "udp"
	HostIP        netip.Addr
	HostPort      uint16
	ContainerPort uint16
}

// onBridge reports whether c is plugged into the default bridge when it
// runs: Docker's default mode, when the engine has a bridge (a service
// without one, as in some tests, gives such containers loopback only).
func (s *Service) onBridge(c *Container) bool {
	switch c.HostConfig.NetworkMode {
	case "", "default", "bridge":
		return s.bridge != nil
	}
	return false
}

// connection is what a start on the bridge holds until the container runs.
type connection struct {
	endpoint *network.Endpoint
	ports    []*portmap.Reservation
	state    *NetworkState
}

// release closes the reservations of a start that failed.
func (cn *connection) release() {
	if cn != nil {
		closeReservations(cn.ports)
	}
}

// connect prepares c's start on the bridge: its address (the one it held
// before, if any), its host ports reserved (a port in use fails the start
// with Docker's message naming it) and its /etc/hosts line. The veth is
// made by the monitor, from the endpoint, before the process runs.
func (s *Service) connect(ctx context.Context, c *Container) (*connection, error) {
	s.awaitDetach(c.ID) // its last run's veths, whose names its new ones take
	if !s.onBridge(c) {
		return nil, nil
	}
	br := s.bridge
	addr, err := br.IPAM.Allocate(ctx, br.Network.ID, c.ID)
	if err != nil {
		return nil, err
	}
	bindings, err := portBindings(c)
	if err != nil {
		return nil, err
	}
	reserved, err := portmap.ReserveAll(bindings)
	if err != nil {
		return nil, fmt.Errorf("failed to set up container networking: driver failed programming external connectivity on endpoint %s (%s): %w",
			c.Name, c.ID, err)
	}
	if err := s.writeHosts(c, addr.Addr()); err != nil {
		closeReservations(reserved)
		return nil, err
	}
	mac := network.MACFor(addr.Addr())
	cn := &connection{
		endpoint: &network.Endpoint{
			ContainerID: c.ID, Bridge: br.Network.Bridge, Address: addr,
			Gateway: br.Network.Gateway, MTU: br.MTU, MAC: mac,
		},
		ports: reserved,
		state: &NetworkState{NetworkID: br.Network.ID, Address: addr, Gateway: br.Network.Gateway, MAC: mac.String()},
	}
	for _, r := range reserved {
		cn.state.Ports = append(cn.state.Ports, PublishedPort{
			Proto: r.Proto, HostIP: r.HostIP, HostPort: r.HostPort, ContainerPort: r.ContainerPort,
		})
	}
	return cn, nil
}

// publishPorts forwards the reserved host ports of a container that now
// runs, and keeps the reservations for as long as it does.
func (s *Service) publishPorts(id string, cn *connection) error {
	if len(cn.state.Ports) == 0 {
		return nil // no rule to install: spare the firewall a round trip
	}
	if err := s.bridge.Firewall.Publish(id, forwards(cn.state)); err != nil {
		return err
	}
	s.mu.Lock()
	s.ports[id] = cn.ports
	s.mu.Unlock()
	return nil
}

// disconnect undoes a run on the bridge once the container has stopped:
// its forwarding rules, its host ports and its veth (which its namespace
// took along already, unless something still holds it). The address stays
// the container's until it is removed.
func (s *Service) disconnect(c *Container) {
	if s.bridge == nil {
		return
	}
	s.mu.Lock()
	ports, published := s.ports[c.ID]
	delete(s.ports, c.ID)
	s.mu.Unlock()
	closeReservations(ports)
	// A container that died while the daemon was away is unpublished too:
	// its rules outlived it.
	if published || c.State.Network != nil && len(c.State.Network.Ports) > 0 {
		if err := s.bridge.Firewall.Unpublish(c.ID); err != nil {
			s.log.Warn("unpublish the ports of a stopped container", "container", c.ID, "err", err)
		}
	}
	s.detachVeth(c.ID, func(h *netlink.Handle) error { return network.Detach(h, c.ID) })
}

// reconnectNetwork makes a running container found at daemon start
// reachable as before: its veth (attached again if it went), its host
// ports reserved again and its forwarding rules installed again.
func (s *Service) reconnectNetwork(c *Container) error {
	st := c.State.Network
	if s.bridge == nil || st == nil {
		return nil
	}
	err := withHostNetlink(func(h *netlink.Handle) error {
		if _, err := h.LinkByName(network.HostVethName(c.ID)); err == nil {
			return nil
		}
		mac, _ := net.ParseMAC(st.MAC)
		return network.AttachPath(h, fmt.Sprintf("/proc/%d/ns/net", c.State.Pid), network.Endpoint{
			ContainerID: c.ID, Bridge: s.bridge.Network.Bridge, Address: st.Address,
			Gateway: st.Gateway, MTU: s.bridge.MTU, MAC: mac,
		})
	})
	if err != nil {
		return fmt.Errorf("reattach container %s to the bridge: %w", shortID(c.ID), err)
	}
	var bindings []portmap.Binding
	for _, p := range st.Ports {
		bindings = append(bindings, portmap.Binding{Proto: p.Proto, HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort})
	}
	reserved, err := portmap.ReserveAll(bindings)
	if err != nil {
		// The ports were free while the daemon was away: still forward
		// them, as they were, rather than cut the container off.
		s.log.Warn("reserve the published ports of a running container again", "container", c.ID, "err", err)
	}
	return s.publishPorts(c.ID, &connection{ports: reserved, state: st})
}

// sweepVeths removes the veths on the bridge that belong to no running
// container: a container that died while the daemon was away, with
// something still holding its namespace.
func (s *Service) sweepVeths(running map[string]bool) error {
	if s.bridge == nil {
		return nil
	}
	keep := map[string]bool{}
	for id := range running {
		keep[network.HostVethName(id)] = true
	}
	return withHostNetlink(func(h *netlink.Handle) error {
		br, err := h.LinkByName(s.bridge.Network.Bridge)
		if err != nil {
			return fmt.Errorf("bridge %s: %w", s.bridge.Network.Bridge, err)
		}
		links, err := h.LinkList()
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			return fmt.Errorf("list interfaces: %w", err)
		}
		for _, l := range links {
			a := l.Attrs()
			if _, ok := l.(*netlink.Veth); !ok || a.MasterIndex != br.Attrs().Index || keep[a.Name] {
				continue
			}
			if err := h.LinkDel(l); err != nil {
				return fmt.Errorf("remove stale veth %s: %w", a.Name, err)
			}
		}
		return nil
	})
}

// portBindings are the host ports c asks for: its -p bindings, and with
// -P every port it exposes that -p does not bind.
func portBindings(c *Container) ([]portmap.Binding, error) {
	var specs []string
	for port, list := range c.HostConfig.PortBindings {
		for _, b := range list {
			spec := b.HostPort + ":" + port.String()
			if b.HostIP.IsValid() {
				spec = b.HostIP.String() + ":" + spec
			} else if b.HostPort == "" {
				spec = port.String()
			}
			specs = append(specs, spec)
		}
	}
	slices.Sort(specs) // the same order, and so the same random ports' order, every time
	bindings, err := portmap.Parse(specs)
	if err != nil || !c.HostConfig.PublishAllPorts {
		return bindings, err
	}
	var exposed []string
	for port := range c.Config.ExposedPorts {
		if _, bound := c.HostConfig.PortBindings[port]; !bound {
			exposed = append(exposed, port.String())
		}
	}
	all, err := portmap.Exposed(exposed)
	return append(bindings, all...), err
}

// forwards are the firewall's view of a container's published ports.
func forwards(st *NetworkState) []firewall.Forward {
	var out []firewall.Forward
	for _, p := range st.Ports {
		out = append(out, firewall.Forward{
			Proto:     firewall.Proto(p.Proto),
			Host:      netip.AddrPortFrom(p.HostIP, p.HostPort),
			Container: netip.AddrPortFrom(st.Address.Addr(), p.ContainerPort),
		})
	}
	return out
}

func closeReservations(rs []*portmap.Reservation) {
	for _, r := range rs {
		r.Close()
	}
}

// withHostNetlink runs fn with a netlink handle on the daemon's own
// network namespace, the host's.
func withHostNetlink(fn func(*netlink.Handle) error) error {
	h, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	defer h.Close()
	return fn(h)
}
