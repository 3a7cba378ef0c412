// Package network connects containers to bridges: it creates the bridge,
// picks its subnet, hands out addresses and plugs each container in with a
// veth pair, all through netlink (no ip or brctl binaries).
//
// The pieces, and who holds what:
//
//   - A Network (IPAM) is a row in SQLite: a name, a bridge interface name,
//     an IPv4 subnet and its gateway. Addresses held by containers are rows
//     too, so they survive a daemon restart, are never held by two
//     containers at once, and go when the container's row goes.
//   - The bridge (EnsureBridge) lives in the host's network namespace, up,
//     with the gateway as its address.
//   - An Endpoint (Attach, Detach) is a veth pair: the host end,
//     HostVethName(id), on the bridge; the other end, eth0, inside the
//     container's namespace with its address and a default route via the
//     gateway.
//
// Functions that touch interfaces take a *netlink.Handle bound to the
// namespace they act in (netlink.NewHandle() for the daemon's own;
// netlink.NewHandleAt for another, as the tests do), never the calling
// thread's namespace implicitly.
//
// What the container lifecycle calls, and when:
//
//  1. Daemon start: IPAM.Network(ctx, "bridge"); when there is none,
//     ParseSubnet(--bridge-subnet) or ChooseSubnet(host, DefaultSubnets),
//     then IPAM.CreateNetwork. Then EnsureBridge(host, n.Bridge,
//     n.GatewayPrefix(), UplinkMTU(host)) every time: it is idempotent
//     and repairs a bridge that was removed or readdressed meanwhile. A
//     --bridge-subnet that differs from the recorded subnet is the
//     lifecycle's to settle (refuse it while addresses are held).
//  2. Start of a container on a bridge network: the runtime gives it a
//     fresh namespace (as for --network none), and in runtime.Hooks.Created,
//     which runs once the init's namespaces exist and before the user's
//     process starts: IPAM.Allocate(ctx, n.ID, id), then AttachPath(host,
//     "/proc/<pid>/ns/net", Endpoint{...}) with n.Bridge, n.Gateway and the
//     allocated address. An error there aborts the start; the address stays
//     with the container.
//  3. Stop or death of the container: Detach(host, id). The veth dies with
//     the namespace anyway; Detach makes it prompt and is a no-op when it
//     is already gone. The address is kept, so a restart gets the same one.
//  4. Removal (rm): Detach, then IPAM.Release (deleting the container's
//     row releases it as well).
//  5. Daemon restart: step 1, then for each container the database says is
//     running, check that HostVethName(id) exists and is on the bridge
//     (Attach again if not: the address is in IPAM.Allocations), and Detach
//     every skiff- veth that belongs to no running container.
package network
