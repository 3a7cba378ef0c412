package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"

	"github.com/skiff-dev/skiff/engine/container"
	"github.com/skiff-dev/skiff/engine/events"
	"github.com/skiff-dev/skiff/engine/network"
)

// Network drivers, as Docker names them.
const (
	NetworkDriverBridge = "bridge"
	NetworkDriverHost   = "host"
	NetworkDriverNull   = "null"
)

// Network is a network as the API shows it: a bridge network from IPAM (the
// default "bridge" or a user-defined one), or one of the predefined "host"
// and "none", which have no subnet, bridge or containers.
type Network struct {
	ID      string
	Name    string
	Driver  string
	Created time.Time
	Bridge  string       // the bridge's interface; bridge driver only
	Subnet  netip.Prefix // bridge driver only
	Gateway netip.Addr   // bridge driver only
	// Containers are the containers holding an address on the network.
	Containers []NetworkContainer
}

// Predefined reports whether the network is one of Docker's three that
// cannot be removed: the default bridge, host and none.
func (n *Network) Predefined() bool {
	return n.Name == "bridge" || n.Name == "host" || n.Name == "none"
}

// NetworkContainer is a container on a network and its address there.
type NetworkContainer struct {
	ID      string
	Name    string
	Address netip.Prefix
}

// NetworkCreateOptions are what docker network create asks for.
type NetworkCreateOptions struct {
	Name   string
	Driver string // "" is bridge, the only driver
	// Subnet and Gateway are optional: a free subnet is picked when Subnet
	// is zero, and its first address is the gateway when Gateway is.
	Subnet  netip.Prefix
	Gateway netip.Addr
}

// validNetworkName is Docker's rule for object names.
var validNetworkName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`) })

// NetworkCreate records a bridge network and sets it up in the daemon's
// network namespace: its bridge, named br-<the ID's first 12 characters>
// as Docker names it, its firewall table and its DNS responder.
func (e *Engine) NetworkCreate(ctx context.Context, opts NetworkCreateOptions) (*Network, error) {
	switch {
	case opts.Driver != "" && opts.Driver != NetworkDriverBridge:
		return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("plugin %q not found", opts.Driver))
	case !validNetworkName().MatchString(opts.Name):
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"invalid network name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", opts.Name))
	case opts.Name == "host" || opts.Name == "none":
		return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("network with name %s already exists", opts.Name))
	case opts.Gateway.IsValid() && !opts.Subnet.IsValid():
		return nil, errdefs.ErrInvalidArgument.WithMessage("a gateway needs a subnet to go with it")
	}
	h, err := netlink.NewHandle()
	if err != nil {
		return nil, fmt.Errorf("create network %s: netlink: %w", opts.Name, err)
	}
	defer h.Close()
	ipam := network.NewIPAM(e.db)
	n, err := e.recordNetwork(ctx, h, ipam, opts)
	if err != nil {
		return nil, err
	}
	if err := e.nets.start(n); err != nil {
		// start leaves nothing of the network behind; nor does the row stay.
		err = fmt.Errorf("create network %s: %w", n.Name, err)
		return nil, errors.Join(err, ipam.RemoveNetwork(context.WithoutCancel(ctx), n.ID))
	}
	e.publishNetwork("create", n.ID, n.Name)
	return bridgeNetwork(n, nil), nil
}

// recordNetwork adds the network's row to IPAM, with the subnet asked for
// or the first free one: one that no other network has and no route of the
// host overlaps. Two creates racing for one name or subnet meet in IPAM,
// which refuses the second; with a subnet of its own choice, it tries again.
func (e *Engine) recordNetwork(ctx context.Context, h *netlink.Handle, ipam *network.IPAM, opts NetworkCreateOptions) (network.Network, error) {
	id := newNetworkID()
	for attempt := 0; ; attempt++ {
		if _, err := ipam.Network(ctx, opts.Name); err == nil {
			return network.Network{}, errdefs.ErrConflict.WithMessage(fmt.Sprintf("network with name %s already exists", opts.Name))
		}
		subnet := opts.Subnet
		if !subnet.IsValid() {
			var err error
			if subnet, err = freeSubnet(ctx, h, ipam); err != nil {
				return network.Network{}, fmt.Errorf("create network %s: %w", opts.Name, err)
			}
		}
		n, err := ipam.CreateNetwork(ctx, network.Network{
			ID: id, Name: opts.Name, Bridge: "br-" + id[:12], Subnet: subnet, Gateway: opts.Gateway,
		})
		if err == nil || opts.Subnet.IsValid() || attempt == 3 || !errdefs.IsConflict(err) {
			return n, err
		}
	}
}

// freeSubnet is the first of the default candidates that neither another
// network nor a route of the host has.
func freeSubnet(ctx context.Context, h *netlink.Handle, ipam *network.IPAM) (netip.Prefix, error) {
	taken, err := ipam.Networks(ctx)
	if err != nil {
		return netip.Prefix{}, err
	}
	candidates := slices.DeleteFunc(slices.Clone(network.DefaultSubnets), func(c netip.Prefix) bool {
		return slices.ContainsFunc(taken, func(n network.Network) bool { return n.Subnet.Overlaps(c) })
	})
	return network.ChooseSubnet(h, candidates)
}

// NetworkList returns the networks: the bridge networks, oldest first,
// then host and none.
func (e *Engine) NetworkList(ctx context.Context) ([]*Network, error) {
	list, err := network.NewIPAM(e.db).Networks(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Network
	for _, n := range list {
		bn, err := e.withContainers(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, bn)
	}
	return append(out, e.predefined()...), nil
}

// NetworkInspect returns the network with that ID, name or unique ID
// prefix, in that order of precedence, as Docker resolves them.
func (e *Engine) NetworkInspect(ctx context.Context, ref string) (*Network, error) {
	list, err := e.NetworkList(ctx)
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(list, func(n *Network) bool { return n.ID == ref }); i >= 0 {
		return list[i], nil
	}
	if i := slices.IndexFunc(list, func(n *Network) bool { return n.Name == ref }); i >= 0 {
		return list[i], nil
	}
	var found []*Network
	if ref != "" {
		for _, n := range list {
			if strings.HasPrefix(n.ID, ref) {
				found = append(found, n)
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("network %s not found", ref))
	case 1:
		return found[0], nil
	}
	return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
		"network %s is ambiguous (%d matches found based on ID prefix)", ref, len(found)))
}

// NetworkRemove removes a user-defined network and its bridge. The
// predefined networks, and a network a container is on, are refused with
// Docker's messages.
func (e *Engine) NetworkRemove(ctx context.Context, ref string) error {
	n, err := e.NetworkInspect(ctx, ref)
	if err != nil {
		return err
	}
	if n.Predefined() {
		return errdefs.ErrPermissionDenied.WithMessage(fmt.Sprintf("%s is a pre-defined network and cannot be removed", n.Name))
	}
	// A stopped container connected to the network holds it too: it
	// joins at its next start.
	members, err := e.containers.NetworkMembers(ctx, n.ID)
	if err != nil {
		return err
	}
	for _, c := range n.Containers {
		if !slices.ContainsFunc(members, func(m container.NetworkMember) bool { return m.ID == c.ID }) {
			members = append(members, container.NetworkMember{ID: c.ID, Name: c.Name})
		}
	}
	if len(members) > 0 {
		eps := make([]string, len(members))
		for i, c := range members {
			eps[i] = fmt.Sprintf("name:%q id:%q", c.Name, c.ID[:min(12, len(c.ID))])
		}
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf(
			"error while removing network: network %s has active endpoints (%s)", n.Name, strings.Join(eps, ", ")))
	}
	// IPAM checks again within its transaction, for a container that
	// joins meanwhile.
	if err := network.NewIPAM(e.db).RemoveNetwork(ctx, n.ID); err != nil {
		return err
	}
	e.publishNetwork("destroy", n.ID, n.Name)
	if err := e.nets.stop(n.ID, true); err != nil {
		return fmt.Errorf("remove network %s: %w", n.Name, err)
	}
	return nil
}

// NetworkConnect connects a container to a user-defined network (docker
// network connect): at once when it runs, at its next start otherwise.
func (e *Engine) NetworkConnect(ctx context.Context, networkRef, containerRef string, aliases []string) error {
	n, err := e.NetworkInspect(ctx, networkRef)
	if err != nil {
		return err
	}
	return e.containers.Connect(ctx, containerRef, n.ID, aliases)
}

// NetworkDisconnect disconnects a container from a user-defined network.
func (e *Engine) NetworkDisconnect(ctx context.Context, networkRef, containerRef string) error {
	n, err := e.NetworkInspect(ctx, networkRef)
	if err != nil {
		return err
	}
	return e.containers.Disconnect(ctx, containerRef, n.ID)
}

// NetworkPrune removes the user-defined networks no container is on and
// returns their names.
func (e *Engine) NetworkPrune(ctx context.Context) ([]string, error) {
	list, err := e.NetworkList(ctx)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, n := range list {
		if n.Predefined() || len(n.Containers) > 0 {
			continue
		}
		if err := e.NetworkRemove(ctx, n.ID); err != nil {
			// One that a container joined meanwhile stays, as Docker's prune
			// skips networks in use.
			if !errdefs.IsConflict(err) && !errdefs.IsNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		removed = append(removed, n.Name)
	}
	return removed, errors.Join(errs...)
}

// withContainers is n with the containers holding an address on it.
func (e *Engine) withContainers(ctx context.Context, n network.Network) (*Network, error) {
	held, err := network.NewIPAM(e.db).Allocations(ctx, n.ID)
	if err != nil {
		return nil, err
	}
	var cs []NetworkContainer
	for id, addr := range held {
		nc := NetworkContainer{ID: id, Address: netip.PrefixFrom(addr, n.Subnet.Bits())}
		if c, err := e.containers.Inspect(ctx, id); err == nil {
			nc.Name = c.Name
		} else if !errdefs.IsNotFound(err) {
			return nil, fmt.Errorf("network %s: container %s: %w", n.Name, id, err)
		}
		cs = append(cs, nc)
	}
	slices.SortFunc(cs, func(a, b NetworkContainer) int { return a.Address.Addr().Compare(b.Address.Addr()) })
	return bridgeNetwork(n, cs), nil
}

func bridgeNetwork(n network.Network, cs []NetworkContainer) *Network {
	return &Network{
		ID: n.ID, Name: n.Name, Driver: NetworkDriverBridge, Created: n.Created,
		Bridge: n.Bridge, Subnet: n.Subnet, Gateway: n.Gateway, Containers: cs,
	}
}

// predefined are the host and none networks. They are not kept anywhere:
// their IDs derive from the daemon's, so they stay the same across
// restarts, and they show the daemon's start as their creation.
func (e *Engine) predefined() []*Network {
	mk := func(name, driver string) *Network {
		sum := sha256.Sum256([]byte(e.id + "/network/" + name))
		return &Network{ID: hex.EncodeToString(sum[:]), Name: name, Driver: driver, Created: e.started}
	}
	return []*Network{mk("host", NetworkDriverHost), mk("none", NetworkDriverNull)}
}

// publishNetwork reports a network event as Docker's: the network's name
// and driver as attributes.
func (e *Engine) publishNetwork(action, id, name string) {
	e.events.Publish(events.Event{Type: "network", Action: action, ID: id,
		Attributes: map[string]string{"name": name, "type": NetworkDriverBridge}})
}

func newNetworkID() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand's contract since Go 1.24)
	return hex.EncodeToString(b)
}
