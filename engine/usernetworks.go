package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"

	"github.com/skiff-dev/skiff/engine/container"
	"github.com/skiff-dev/skiff/engine/network"
	"github.com/skiff-dev/skiff/engine/network/dns"
	"github.com/skiff-dev/skiff/engine/network/firewall"
)

// hostResolvConf is where the DNS responders find the host's resolvers.
var hostResolvConf = "/etc/resolv.conf"

// userNetworks are the user-defined networks the daemon runs, each with
// its bridge, its firewall table (the default bridge's rules: masquerade,
// forwarding, published ports), the names of its containers and its DNS
// responder on the gateway. It is the container service's view of every
// bridge network (container.Networks), the default one included.
type userNetworks struct {
	ipam *network.IPAM
	def  *container.Bridge // the default network; nil without one
	log  *slog.Logger

	mu   sync.Mutex
	open map[string]*userNetwork // by network ID
}

type userNetwork struct {
	bridge *container.Bridge
	dns    *dns.Server
}

func newUserNetworks(ipam *network.IPAM, def *container.Bridge, log *slog.Logger) *userNetworks {
	return &userNetworks{ipam: ipam, def: def, log: log, open: map[string]*userNetwork{}}
}

// Network is the bridge network with that ID or name.
func (u *userNetworks) Network(ctx context.Context, ref string) (*container.Bridge, error) {
	n, err := u.ipam.Network(ctx, ref)
	if err != nil {
		return nil, err
	}
	if u.def != nil && n.ID == u.def.Network.ID {
		return u.def, nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	un, ok := u.open[n.ID]
	if !ok {
		return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("network %s not found", ref))
	}
	return un.bridge, nil
}

// Bridges are the default network and every user-defined one.
func (u *userNetworks) Bridges() []*container.Bridge {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []*container.Bridge
	if u.def != nil {
		out = append(out, u.def)
	}
	for _, un := range u.open {
		out = append(out, un.bridge)
	}
	return out
}

// openAll sets up every user-defined network at daemon start: what a
// restart finds (the bridges and tables of running containers' networks
// stay while the daemon is away) is repaired, what is missing made again.
func (u *userNetworks) openAll(ctx context.Context) error {
	list, err := u.ipam.Networks(ctx)
	if err != nil {
		return err
	}
	for _, n := range list {
		if n.Name == defaultNetwork {
			continue
		}
		if err := u.start(n); err != nil {
			return err
		}
	}
	return nil
}

// start sets up one user-defined network: its bridge, its table with the
// bridge's rules, and its responder on the gateway's port 53 answering
// the subnet. On failure nothing of it is left.
func (u *userNetworks) start(n network.Network) (err error) {
	h, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("network %s: netlink: %w", n.Name, err)
	}
	defer h.Close()
	br := &container.Bridge{Network: n, IPAM: u.ipam, DNS: dns.NewRegistry()}
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("network %s: %w", n.Name, err), teardown(h, br))
		}
	}()
	if br.MTU, err = network.UplinkMTU(h); err != nil {
		return err
	}
	if _, err := network.EnsureBridge(h, n.Bridge, n.GatewayPrefix(), br.MTU); err != nil {
		return err
	}
	if br.Firewall, err = firewall.Open(firewall.Table(tableFor(n.Bridge))); err != nil {
		return err
	}
	if err := br.Firewall.AddBridge(n.Bridge, n.Subnet); err != nil {
		return err
	}
	upstreams, err := dns.HostUpstreams(hostResolvConf)
	if err != nil {
		return err
	}
	srv, err := dns.Listen(dns.Config{
		Addr: netip.AddrPortFrom(n.Gateway, 53), Clients: n.Subnet, Names: br.DNS,
		Upstreams: upstreams, Logger: u.log.With("network", n.Name),
	})
	if err != nil {
		return fmt.Errorf("DNS responder on %s: %w", n.Gateway, err)
	}
	u.mu.Lock()
	u.open[n.ID] = &userNetwork{bridge: br, dns: srv}
	u.mu.Unlock()
	return nil
}

// stop stops a network's responder and, with remove, takes its table and
// bridge away too.
func (u *userNetworks) stop(id string, remove bool) error {
	u.mu.Lock()
	un, ok := u.open[id]
	delete(u.open, id)
	u.mu.Unlock()
	if !ok {
		return nil
	}
	errs := []error{un.dns.Close()}
	if remove {
		errs = append(errs, withNetlink(func(h *netlink.Handle) error { return teardown(h, un.bridge) }))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network %s: %w", un.bridge.Network.Name, err)
	}
	return nil
}

// closeAll stops every responder at shutdown. With no container running,
// the bridges and tables go too, as the default network's do: the next
// start makes them again.
func (u *userNetworks) closeAll(keepBridges bool) error {
	u.mu.Lock()
	ids := make([]string, 0, len(u.open))
	for id := range u.open {
		ids = append(ids, id)
	}
	u.mu.Unlock()
	var errs []error
	for _, id := range ids {
		errs = append(errs, u.stop(id, !keepBridges))
	}
	return errors.Join(errs...)
}

// teardown removes a network's table (when it got one) and bridge.
func teardown(h *netlink.Handle, br *container.Bridge) error {
	var errs []error
	if br.Firewall != nil {
		errs = append(errs, br.Firewall.Destroy())
	}
	return errors.Join(append(errs, network.RemoveBridge(h, br.Network.Bridge))...)
}

func withNetlink(fn func(*netlink.Handle) error) error {
	h, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	defer h.Close()
	return fn(h)
}
