package monitor

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/engine/network"
)

// attachNetwork plugs the init pid's network namespace into the bridge of
// ep, if any. It runs in Hooks.Created: the namespace exists and the
// container's process has not started, so the process finds eth0 up with
// its address and route from its first instruction. The monitor runs in
// the host's namespace, where the bridge is.
func attachNetwork(ep *network.Endpoint, pid int) error {
	if ep == nil {
		return nil
	}
	// Routing sockets only: a handle of every family opens three and
	// binds each, on the path of the container's start.
	host, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("connect the container to bridge %s: netlink: %w", ep.Bridge, err)
	}
	defer host.Close()
	if err := network.AttachPath(host, fmt.Sprintf("/proc/%d/ns/net", pid), *ep); err != nil {
		return fmt.Errorf("connect the container to bridge %s: %w", ep.Bridge, err)
	}
	return nil
}
