package container

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"

	"github.com/skiff-dev/skiff/engine/network"
	"github.com/skiff-dev/skiff/engine/network/dns"
	"github.com/skiff-dev/skiff/engine/network/firewall"
	"github.com/skiff-dev/skiff/engine/network/portmap"
)

// Bridge is a bridge network as the engine set it up: its IPAM row, its
// bridge device and its firewall table, and for a user-defined network the
// names its DNS responder answers.
type Bridge struct {
	Network  network.Network
	IPAM     *network.IPAM
	Firewall *firewall.Firewall
	MTU      int
	// DNS is nil on the default network, whose containers do not resolve
	// each other by name (Docker's behaviour).
	DNS *dns.Registry
}

// NetworkState is where a running container is reachable on one network:
// its interface, address, the names it answers to and (on eth0's network)
// the host ports published to it. It is part of the container's state
// while it runs, and cleared when it stops (the address stays the
// container's in IPAM, so a restart gets it again).
type NetworkState struct {
	NetworkID string
	Name      string       `json:",omitempty"` // the network's
	IfName    string       `json:",omitempty"` // inside the container; "" is eth0
	Address   netip.Prefix // with the subnet's length
	Gateway   netip.Addr
	MAC       string
	Aliases   []string        `json:",omitempty"`
	Ports     []PublishedPort `json:",omitempty"`
}

func (st *NetworkState) ifName() string {
	if st.IfName == "" {
		return "eth0"
	}
	return st.IfName
}

// Endpoints are the networks a running container is on, eth0's first.
func (s State) Endpoints() []*NetworkState {
	if s.Network == nil {
		return s.Connected
	}
	return append([]*NetworkState{s.Network}, s.Connected...)
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

// joined is a network a starting container joins.
type joined struct {
	br      *Bridge
	aliases []string
}

// networksOf are the networks c joins when it starts, eth0's first: the
// default bridge of its network mode, then its user-defined networks in
// the order it was connected to them.
func (s *Service) networksOf(ctx context.Context, c *Container) ([]joined, error) {
	var out []joined
	if s.onBridge(c) {
		out = append(out, joined{br: s.bridge})
	}
	if s.networks == nil {
		return out, nil
	}
	atts, err := s.attachments(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for _, a := range atts {
		br, err := s.networks.Network(ctx, a.networkID)
		if err != nil {
			return nil, fmt.Errorf("container %s: network %s: %w", shortID(c.ID), a.networkID, err)
		}
		out = append(out, joined{br: br, aliases: a.aliases})
	}
	return out, nil
}

// connection is what a start on bridge networks holds until the
// container runs.
type connection struct {
	endpoint *network.Endpoint  // eth0's, which the monitor attaches
	more     []network.Endpoint // eth1 onwards, attached once the init runs
	ports    []*portmap.Reservation
	state    *NetworkState   // eth0's
	others   []*NetworkState // eth1 onwards, as more
}

// release closes the reservations of a start that failed.
func (cn *connection) release() {
	if cn != nil {
		closeReservations(cn.ports)
	}
}

// connect prepares c's start on its networks: an address on each (the one
// it held before, if any), its host ports reserved on eth0's network (a
// port in use fails the start with Docker's message naming it), its
// /etc/hosts line and, on a user-defined network, a resolv.conf naming
// the network's DNS responder. The monitor makes eth0's veth before the
// process runs; join makes the others.
func (s *Service) connect(ctx context.Context, c *Container) (*connection, error) {
	s.awaitDetach(c.ID) // its last run's veths, whose names its new ones take
	nets, err := s.networksOf(ctx, c)
	if err != nil || len(nets) == 0 {
		return nil, err
	}
	cn := &connection{}
	for i, j := range nets {
		st, ep, err := s.endpoint(ctx, c, j, fmt.Sprintf("eth%d", i))
		if err != nil {
			return nil, err
		}
		if i == 0 {
			cn.endpoint, cn.state = &ep, st
		} else {
			cn.more, cn.others = append(cn.more, ep), append(cn.others, st)
		}
	}
	primary := nets[0].br
	if primary.DNS != nil {
		if err := s.writeResolvConf(c, primary.Network.Gateway); err != nil {
			return nil, err
		}
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
	if err := s.writeHosts(c, cn.state.Address.Addr()); err != nil {
		closeReservations(reserved)
		return nil, err
	}
	cn.ports = reserved
	for _, r := range reserved {
		cn.state.Ports = append(cn.state.Ports, PublishedPort{
			Proto: r.Proto, HostIP: r.HostIP, HostPort: r.HostPort, ContainerPort: r.ContainerPort,
		})
	}
	return cn, nil
}

// endpoint allocates c's address on j's network and describes its
// interface ifName there. Only eth0 gets the default route.
func (s *Service) endpoint(ctx context.Context, c *Container, j joined, ifName string) (*NetworkState, network.Endpoint, error) {
	br := j.br
	addr, err := br.IPAM.Allocate(ctx, br.Network.ID, c.ID)
	if err != nil {
		return nil, network.Endpoint{}, err
	}
	mac := network.MACFor(addr.Addr())
	ep := network.Endpoint{
		ContainerID: c.ID, Bridge: br.Network.Bridge, Address: addr, MTU: br.MTU, MAC: mac,
		IfName: ifName, HostName: vethName(c.ID, ifName),
	}
	if ifName == "eth0" {
		ep.Gateway = br.Network.Gateway
	}
	st := &NetworkState{
		NetworkID: br.Network.ID, Name: br.Network.Name, Address: addr, Gateway: br.Network.Gateway,
		MAC: mac.String(), Aliases: j.aliases,
	}
	if ifName != "eth0" {
		st.IfName = ifName
	}
	return st, ep, nil
}

// vethName is the host end of a container's interface ifName: Docker's
// HostVethName for eth0; for ethN "n" and N replace the ID's last
// characters ("n" is no hex digit, so it never clashes with an eth0's).
func vethName(id, ifName string) string {
	n := strings.TrimPrefix(ifName, "eth")
	if n == "0" || n == ifName {
		return network.HostVethName(id)
	}
	prefix := network.HostVethName(id)
	return prefix[:len(prefix)-1-len(n)] + "n" + n
}

// join finishes the start of a container that now runs: its other
// interfaces attached, the reserved host ports forwarded (kept for as long
// as it runs) and its names given to its networks' responders.
func (s *Service) join(c *Container, pid int, cn *connection) error {
	if len(cn.more) > 0 {
		path := fmt.Sprintf("/proc/%d/ns/net", pid)
		err := withHostNetlink(func(h *netlink.Handle) error {
			for _, ep := range cn.more {
				if err := network.AttachPath(h, path, ep); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("connect container %s to its networks: %w", shortID(c.ID), err)
		}
	}
	if err := s.publishPorts(c.ID, cn); err != nil {
		return err
	}
	for _, st := range append([]*NetworkState{cn.state}, cn.others...) {
		if br := s.bridgeOf(st.NetworkID); br != nil {
			s.register(c, br, st)
			s.publishNetwork("connect", br, c.ID)
		}
	}
	return nil
}

// register gives the container's names on a user-defined network to its
// DNS responder: its name, its short ID and its aliases there.
func (s *Service) register(c *Container, br *Bridge, st *NetworkState) {
	if br.DNS != nil {
		br.DNS.Set(c.ID, st.Address.Addr(), append([]string{c.Name, shortID(c.ID)}, st.Aliases...)...)
	}
}

// bridgeOf is the network with that ID, nil when it is gone.
func (s *Service) bridgeOf(id string) *Bridge {
	if s.bridge != nil && s.bridge.Network.ID == id {
		return s.bridge
	}
	if s.networks == nil {
		return nil
	}
	br, err := s.networks.Network(context.Background(), id)
	if err != nil {
		return nil
	}
	return br
}

// publishPorts forwards the reserved host ports of a container that now
// runs, through eth0's network, and keeps the reservations for as long as
// it does.
func (s *Service) publishPorts(id string, cn *connection) error {
	if len(cn.state.Ports) == 0 {
		return nil // no rule to install: spare the firewall a round trip
	}
	br := s.bridgeOf(cn.state.NetworkID)
	if br == nil {
		return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("publish the ports of container %s: network %s not found", shortID(id), cn.state.NetworkID))
	}
	if err := br.Firewall.Publish(id, forwards(cn.state)); err != nil {
		return err
	}
	s.mu.Lock()
	s.ports[id] = cn.ports
	s.mu.Unlock()
	return nil
}

// disconnect undoes a run on its networks once the container has stopped:
// its forwarding rules, its host ports, its names and its veths (which its
// namespace took along already, unless something still holds it). The
// addresses stay the container's until it is removed or disconnected.
func (s *Service) disconnect(c *Container) {
	if s.bridge == nil && s.networks == nil {
		return
	}
	s.mu.Lock()
	ports, published := s.ports[c.ID]
	delete(s.ports, c.ID)
	s.mu.Unlock()
	closeReservations(ports)
	eps := c.State.Endpoints()
	if len(eps) == 0 && s.bridge != nil {
		// No record of where it ran: what a bridge start would have left.
		eps = []*NetworkState{{NetworkID: s.bridge.Network.ID}}
	}
	for _, st := range eps {
		s.leave(c, st, published)
	}
}

// leave takes a container off one network: its rules when the network
// forwards its ports (eth0's; a container that died while the daemon was
// away is unpublished too: its rules outlived it), its names and its veth.
func (s *Service) leave(c *Container, st *NetworkState, published bool) {
	br := s.bridgeOf(st.NetworkID)
	if br != nil && st.ifName() == "eth0" && (published || len(st.Ports) > 0) {
		if err := br.Firewall.Unpublish(c.ID); err != nil {
			s.log.Warn("unpublish the ports of a stopped container", "container", c.ID, "err", err)
		}
	}
	name := vethName(c.ID, st.ifName())
	s.detachVeth(c.ID, func(h *netlink.Handle) error { return network.DetachVeth(h, name) })
	if br != nil {
		if br.DNS != nil {
			br.DNS.Remove(c.ID)
		}
		if st.Name != "" {
			s.publishNetwork("disconnect", br, c.ID)
		}
	}
}

// reconnectNetwork makes a running container found at daemon start
// reachable as before: its veths (attached again if they went), its names
// answered again, its host ports reserved again and its forwarding rules
// installed again.
func (s *Service) reconnectNetwork(c *Container) error {
	for _, st := range c.State.Endpoints() {
		br := s.bridgeOf(st.NetworkID)
		if br == nil {
			s.log.Warn("a running container's network is gone", "container", c.ID, "network", st.NetworkID)
			continue
		}
		if err := s.reattach(c, br, st); err != nil {
			return err
		}
		s.register(c, br, st)
	}
	st := c.State.Network
	if st == nil {
		return nil
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

// reattach makes the veth of a running container's interface again, if it
// went.
func (s *Service) reattach(c *Container, br *Bridge, st *NetworkState) error {
	name := vethName(c.ID, st.ifName())
	err := withHostNetlink(func(h *netlink.Handle) error {
		if _, err := h.LinkByName(name); err == nil {
			return nil
		}
		mac, _ := net.ParseMAC(st.MAC)
		ep := network.Endpoint{
			ContainerID: c.ID, Bridge: br.Network.Bridge, Address: st.Address,
			MTU: br.MTU, MAC: mac, IfName: st.ifName(), HostName: name,
		}
		if st.ifName() == "eth0" {
			ep.Gateway = st.Gateway
		}
		return network.AttachPath(h, fmt.Sprintf("/proc/%d/ns/net", c.State.Pid), ep)
	})
	if err != nil {
		return fmt.Errorf("reattach container %s to network %s: %w", shortID(c.ID), br.Network.Name, err)
	}
	return nil
}

// sweepVeths removes the veths on skiff's bridges that are not in keep:
// those of containers that died while the daemon was away, with something
// still holding their namespace.
func (s *Service) sweepVeths(keep map[string]bool) error {
	var bridges []string
	if s.bridge != nil {
		bridges = append(bridges, s.bridge.Network.Bridge)
	}
	if s.networks != nil {
		for _, br := range s.networks.Bridges() {
			if !slices.Contains(bridges, br.Network.Bridge) {
				bridges = append(bridges, br.Network.Bridge)
			}
		}
	}
	if len(bridges) == 0 {
		return nil
	}
	return withHostNetlink(func(h *netlink.Handle) error {
		masters := map[int]bool{}
		for _, name := range bridges {
			br, err := h.LinkByName(name)
			if err != nil {
				return fmt.Errorf("bridge %s: %w", name, err)
			}
			masters[br.Attrs().Index] = true
		}
		links, err := h.LinkList()
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			return fmt.Errorf("list interfaces: %w", err)
		}
		for _, l := range links {
			a := l.Attrs()
			if _, ok := l.(*netlink.Veth); !ok || !masters[a.MasterIndex] || keep[a.Name] {
				continue
			}
			if err := h.LinkDel(l); err != nil {
				return fmt.Errorf("remove stale veth %s: %w", a.Name, err)
			}
		}
		return nil
	})
}

// containerVeths are the host ends of a running container's interfaces.
func containerVeths(c *Container) []string {
	names := []string{network.HostVethName(c.ID)}
	for _, st := range c.State.Endpoints() {
		names = append(names, vethName(c.ID, st.ifName()))
	}
	return names
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
