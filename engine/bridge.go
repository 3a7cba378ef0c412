package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"

	"github.com/skiff-dev/skiff/engine/container"
	"github.com/skiff-dev/skiff/engine/network"
	"github.com/skiff-dev/skiff/engine/network/firewall"
)

// defaultNetwork is the name of the default network, Docker's.
const defaultNetwork = "bridge"

// openBridge sets up the default network at daemon start: its IPAM row
// (the subnet of --bridge-subnet, or one that overlaps no route of the
// host), its bridge device with the uplink's MTU, and the firewall's table
// with the bridge's rules. Every step is idempotent: a restarted daemon
// finds what it left and repairs what is missing.
func openBridge(ctx context.Context, ipam *network.IPAM, name, subnet string) (*container.Bridge, error) {
	host, err := netlink.NewHandle()
	if err != nil {
		return nil, fmt.Errorf("default network: netlink: %w", err)
	}
	defer host.Close()
	n, err := defaultNetworkRow(ctx, ipam, host, name, subnet)
	if err != nil {
		return nil, err
	}
	mtu, err := network.UplinkMTU(host)
	if err != nil {
		return nil, fmt.Errorf("default network: %w", err)
	}
	if _, err := network.EnsureBridge(host, n.Bridge, n.GatewayPrefix(), mtu); err != nil {
		return nil, fmt.Errorf("default network: %w", err)
	}
	fw, err := firewall.Open(firewall.Table(tableFor(n.Bridge)))
	if err != nil {
		return nil, fmt.Errorf("default network: %w", err)
	}
	if err := fw.AddBridge(n.Bridge, n.Subnet); err != nil {
		return nil, fmt.Errorf("default network: %w", err)
	}
	return &container.Bridge{Network: n, IPAM: ipam, Firewall: fw, MTU: mtu}, nil
}

// tableFor is the firewall table of a bridge: skiff's own for the default
// skiff0, one per bridge otherwise, so that daemons with bridges of their
// own (tests) never remove each other's rules.
func tableFor(bridge string) string {
	if bridge == network.DefaultBridge {
		return firewall.TableName
	}
	return firewall.TableName + "-" + bridge
}

// defaultNetworkRow returns the "bridge" network, recording it at the
// first start. A --bridge-subnet or --bridge other than the recorded ones
// is refused while containers hold addresses on it, and otherwise replaces
// the row.
func defaultNetworkRow(ctx context.Context, ipam *network.IPAM, host *netlink.Handle, name, subnet string) (network.Network, error) {
	var want network.Network
	if subnet != "" {
		p, err := network.ParseSubnet(subnet)
		if err != nil {
			return want, fmt.Errorf("--bridge-subnet: %w", err)
		}
		want.Subnet = p
	}
	n, err := ipam.Network(ctx, defaultNetwork)
	switch {
	case err == nil && n.Bridge == name && (subnet == "" || n.Subnet == want.Subnet):
		return n, nil
	case err == nil:
		if err := ipam.RemoveNetwork(ctx, n.ID); err != nil {
			return n, fmt.Errorf("default network: change to bridge %s %s: %w", name, subnet, err)
		}
		if n.Bridge != name {
			// The old bridge would keep the subnet's route; at worst it
			// stays, unused.
			_ = network.RemoveBridge(host, n.Bridge)
		}
	case !errdefs.IsNotFound(err):
		return n, fmt.Errorf("default network: %w", err)
	}
	if !want.Subnet.IsValid() {
		if want.Subnet, err = network.ChooseSubnet(host, network.DefaultSubnets); err != nil {
			return n, fmt.Errorf("default network: %w", err)
		}
	}
	return ipam.CreateNetwork(ctx, network.Network{Name: defaultNetwork, Bridge: name, Subnet: want.Subnet})
}

// closeNetworks stops the DNS responders at shutdown and tears the
// networks down, unless a container still runs: running containers stay
// reachable, published ports included, while the daemon is away and after
// it restarts, so the bridges and rules stay with them (names resolve
// again once the daemon is back).
func (e *Engine) closeNetworks(ctx context.Context) error {
	running, err := e.containers.List(ctx, container.ListOptions{})
	if err != nil {
		return fmt.Errorf("close the networks: %w", err)
	}
	keep := len(running) > 0
	if keep {
		e.log.Info("containers still run: keeping the bridges and their rules", "running", len(running))
	}
	errs := []error{e.nets.closeAll(keep)}
	br := e.bridge
	if br == nil || keep {
		return errors.Join(errs...)
	}
	errs = append(errs, br.Firewall.Destroy())
	host, err := netlink.NewHandle()
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("close the default network: netlink: %w", err))...)
	}
	defer host.Close()
	errs = append(errs, network.RemoveBridge(host, br.Network.Bridge))
	return errors.Join(errs...)
}
