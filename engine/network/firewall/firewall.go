// Package firewall keeps skiff's packet filtering and address translation in
// one nftables table of its own, "ip skiff", spoken to over netlink (no nft
// or iptables binary).
//
// The table holds:
//
//   - postrouting (nat): masquerade for each bridge's subnet leaving by any
//     other device, and for the two flows that would otherwise carry a source
//     the container cannot answer: the host's 127.0.0.1 and a container
//     reaching a published port through a host address (hairpin);
//   - prerouting and output (nat): traffic to one of the host's own
//     addresses jumps to "published", which holds the DNAT rules of the
//     published ports; ports published on a loopback address get their rule
//     in output only, so that no other machine can reach them;
//   - forward (filter, policy accept): into a bridge only replies, DNATed
//     flows and traffic from the same bridge are let through;
//   - localnet (filter, prerouting): drops new packets for 127.0.0.0/8
//     arriving from a bridge, the one door that route_localnet would open.
//
// Every rule carries a comment tag ("bridge NAME", "container ID",
// "dispatch") so that one bridge's or one container's rules can be removed
// without touching the rest, and nft list ruleset shows whose a rule is.
// The host's other tables, chains and policies are never read or changed;
// Destroy removes the whole table in one call.
//
// Lifecycle: Open when the daemon starts (idempotent, keeps the rules of a
// previous run so that running containers stay reachable), AddBridge once the
// bridge device exists, Publish when a container starts and Unpublish when it
// stops, Destroy on shutdown when nothing should remain.
package firewall

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TableName is the name of skiff's table in the ip family, unless Table
// names another.
const TableName = "skiff"

const (
	chainPrerouting  = "prerouting"
	chainOutput      = "output"
	chainPublished   = "published"
	chainPostrouting = "postrouting"
	chainForward     = "forward"
	chainLocalnet    = "localnet"
)

const tagDispatch = "dispatch"

func bridgeTag(name string) string  { return "bridge " + name }
func containerTag(id string) string { return "container " + id }

// Proto is a transport protocol a port is published for.
type Proto string

const (
	TCP Proto = "tcp"
	UDP Proto = "udp"
)

func (p Proto) number() byte {
	if p == UDP {
		return unix.IPPROTO_UDP
	}
	return unix.IPPROTO_TCP
}

// Forward is one published port: packets for Host reach Container.
type Forward struct {
	Proto Proto
	// Host is the address and port on the host. An unspecified address
	// (0.0.0.0) means every address of the host; a loopback address is
	// reachable from the host only.
	Host      netip.AddrPort
	Container netip.AddrPort
}

func (f Forward) validate() error {
	if f.Proto != TCP && f.Proto != UDP {
		return fmt.Errorf("protocol %q: want tcp or udp", f.Proto)
	}
	if !f.Host.Addr().Is4() || !f.Container.Addr().Is4() {
		return fmt.Errorf("%s -> %s: only IPv4 addresses are supported", f.Host, f.Container)
	}
	if f.Host.Port() == 0 || f.Container.Port() == 0 {
		return fmt.Errorf("%s -> %s: port 0", f.Host, f.Container)
	}
	if f.Container.Addr().IsUnspecified() {
		return fmt.Errorf("%s -> %s: no container address", f.Host, f.Container)
	}
	return nil
}

// Option configures Open.
type Option func(*Firewall)

// InNetNS makes the firewall work in the network namespace ns instead of the
// caller's. The caller keeps ownership of the handle.
func InNetNS(ns netns.NsHandle) Option {
	return func(f *Firewall) { f.ns = ns }
}

// Table makes the firewall use the table name instead of TableName: each
// daemon with a bridge of its own (tests run several side by side) keeps
// its rules in a table of its own, which its Destroy removes alone.
func Table(name string) Option {
	return func(f *Firewall) { f.name = name }
}

// Firewall is skiff's nftables table in one network namespace. Its methods
// are safe for concurrent use; each applies its changes in one atomic batch.
type Firewall struct {
	mu    sync.Mutex
	name  string
	ns    netns.NsHandle
	conn  *nftables.Conn
	table *nftables.Table
}

// Open creates skiff's table and its base chains unless they exist, and
// (re)installs the jumps to the published chain. Rules already in the table
// are kept.
func Open(opts ...Option) (*Firewall, error) {
	f := &Firewall{name: TableName, ns: netns.None()}
	for _, o := range opts {
		o(f)
	}
	var connOpts []nftables.ConnOption
	if f.ns.IsOpen() {
		connOpts = append(connOpts, nftables.WithNetNSFd(int(f.ns)))
	}
	conn, err := nftables.New(connOpts...)
	if err != nil {
		return nil, fmt.Errorf("nftables netlink connection: %w", err)
	}
	f.conn = conn
	f.table = &nftables.Table{Name: f.name, Family: nftables.TableFamilyIPv4}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.conn.AddTable(f.table)
	for _, c := range f.chains() {
		f.conn.AddChain(c)
	}
	if err := f.conn.Flush(); err != nil {
		return nil, fmt.Errorf("create nftables table ip %s: %w", f.name, err)
	}

	// Replace rather than add the jumps, so that opening twice leaves one.
	if err := f.deleteTagged(tagDispatch); err != nil {
		return nil, err
	}
	f.add(chainPrerouting, tagDispatch, rule(localDaddr(), jump(chainPublished)))
	f.add(chainOutput, tagDispatch, rule(localDaddr(), jump(chainPublished)))
	if err := f.conn.Flush(); err != nil {
		return nil, fmt.Errorf("install the jumps to the published ports: %w", err)
	}
	return f, nil
}

func (f *Firewall) chains() []*nftables.Chain {
	accept := nftables.ChainPolicyAccept
	base := func(name string, typ nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		return &nftables.Chain{Name: name, Table: f.table, Type: typ, Hooknum: hook, Priority: prio, Policy: &accept}
	}
	return []*nftables.Chain{
		base(chainPrerouting, nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest),
		base(chainOutput, nftables.ChainTypeNAT, nftables.ChainHookOutput, nftables.ChainPriorityNATDest),
		base(chainPostrouting, nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource),
		base(chainForward, nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter),
		// After conntrack and DNAT (-100), before the routing decision.
		base(chainLocalnet, nftables.ChainTypeFilter, nftables.ChainHookPrerouting, nftables.ChainPriorityFilter),
		{Name: chainPublished, Table: f.table},
	}
}

// AddBridge sets up outbound traffic and publishing for the bridge device
// name carrying subnet: masquerade, the forward filter, the localnet guard,
// and the sysctls net.ipv4.ip_forward=1 and, for this bridge only,
// net.ipv4.conf.NAME.route_localnet=1 (without it the kernel drops
// 127.0.0.1-sourced packets routed to the bridge, so the host could not use
// ports published on 127.0.0.1). Calling it again replaces the bridge's rules.
//
// A container reaching its own published port by a host address needs its
// veth's bridge port in hairpin mode: with br_netfilter on (the default), the
// DNAT happens on the bridge and the frame must leave by the port it came in.
func (f *Firewall) AddBridge(name string, subnet netip.Prefix) error {
	if !subnet.Addr().Is4() {
		return fmt.Errorf("bridge %s: subnet %s: only IPv4 is supported", name, subnet)
	}
	if name == "" || len(name) >= unix.IFNAMSIZ {
		return fmt.Errorf("bridge name %q: want 1 to %d bytes", name, unix.IFNAMSIZ-1)
	}
	if err := f.enableRouting(name); err != nil {
		return fmt.Errorf("bridge %s: %w", name, err)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	tag := bridgeTag(name)
	if err := f.deleteTagged(tag); err != nil {
		return err
	}
	loopback := netip.MustParsePrefix("127.0.0.0/8")

	// Outbound: the subnet leaving by another device takes the host's address.
	f.add(chainPostrouting, tag, rule(addrIn(offSaddr, subnet), notOif(name), masquerade()))
	// The host's 127.0.0.1 to a published port: the container could not
	// answer a loopback source.
	f.add(chainPostrouting, tag, rule(oif(name), addrIn(offSaddr, loopback), masquerade()))
	// Hairpin: a container reaching a published port by a host address
	// would get the reply straight from the other container (or from
	// itself), not from the address it dialled. Matched by source address:
	// postrouting knows no input device.
	f.add(chainPostrouting, tag, rule(addrIn(offSaddr, subnet), oif(name), ctAny(expr.CtKeySTATUS, ipsDstNAT), masquerade()))

	f.add(chainForward, tag, rule(oif(name), ctAny(expr.CtKeySTATE, ctEstablishedOrRelated), verdict(expr.VerdictAccept)))
	f.add(chainForward, tag, rule(oif(name), ctAny(expr.CtKeySTATUS, ipsDstNAT), verdict(expr.VerdictAccept)))
	f.add(chainForward, tag, rule(oif(name), iif(name), verdict(expr.VerdictAccept)))
	// Anything else into the bridge is a host routing straight to a
	// container's unpublished ports.
	f.add(chainForward, tag, rule(oif(name), verdict(expr.VerdictDrop)))

	// route_localnet lets 127.0.0.0/8 through the bridge in both directions;
	// only replies to the host's own connections may come in.
	f.add(chainLocalnet, tag, rule(iif(name), addrIn(offDaddr, loopback),
		ctNone(expr.CtKeySTATE, ctEstablishedOrRelated), verdict(expr.VerdictDrop)))

	if err := f.conn.Flush(); err != nil {
		return fmt.Errorf("install the rules of bridge %s: %w", name, err)
	}
	return nil
}

// RemoveBridge removes the rules AddBridge installed for the bridge name.
// The sysctls are left alone: route_localnet goes with the device, and
// ip_forward may be needed by others.
func (f *Firewall) RemoveBridge(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.deleteTagged(bridgeTag(name)); err != nil {
		return err
	}
	if err := f.conn.Flush(); err != nil {
		return fmt.Errorf("remove the rules of bridge %s: %w", name, err)
	}
	return nil
}

// Publish installs the DNAT rules of the container id, replacing any it had.
func (f *Firewall) Publish(id string, forwards []Forward) error {
	for _, fw := range forwards {
		if err := fw.validate(); err != nil {
			return fmt.Errorf("publish a port of container %s: %w", id, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	tag := containerTag(id)
	if err := f.deleteTagged(tag); err != nil {
		return err
	}
	for _, fw := range forwards {
		host := fw.Host.Addr()
		match := dport(fw.Proto, fw.Host.Port())
		if !host.IsUnspecified() {
			match = rule(addrIs(offDaddr, host), match)
		}
		chain := chainPublished
		if host.IsLoopback() {
			chain = chainOutput
		}
		f.add(chain, tag, rule(match, dnat(fw.Container)))
	}
	if err := f.conn.Flush(); err != nil {
		return fmt.Errorf("publish the ports of container %s: %w", id, err)
	}
	return nil
}

// Unpublish removes the DNAT rules of the container id; none is no error.
func (f *Firewall) Unpublish(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.deleteTagged(containerTag(id)); err != nil {
		return err
	}
	if err := f.conn.Flush(); err != nil {
		return fmt.Errorf("unpublish the ports of container %s: %w", id, err)
	}
	return nil
}

// Destroy removes skiff's table with every chain and rule in it. A table
// already gone is no error.
func (f *Firewall) Destroy() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	tables, err := f.conn.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return fmt.Errorf("list nftables tables: %w", err)
	}
	if !slices.ContainsFunc(tables, func(t *nftables.Table) bool { return t.Name == f.name }) {
		return nil
	}
	f.conn.DelTable(f.table)
	if err := f.conn.Flush(); err != nil {
		return fmt.Errorf("delete nftables table ip %s: %w", f.name, err)
	}
	return nil
}

// Rules returns how many rules of the table carry each tag, for tests and
// for counting leftovers.
func (f *Firewall) Rules() (map[string]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	counts := map[string]int{}
	err := f.eachRule(func(r *nftables.Rule) {
		tag, _ := userdata.GetString(r.UserData, userdata.TypeComment)
		counts[tag]++
	})
	return counts, err
}

// add queues a rule tagged with tag at the end of chain. f.mu must be held.
func (f *Firewall) add(chain, tag string, exprs []expr.Any) {
	f.conn.AddRule(&nftables.Rule{
		Table:    f.table,
		Chain:    &nftables.Chain{Name: chain, Table: f.table},
		Exprs:    exprs,
		UserData: userdata.AppendString(nil, userdata.TypeComment, tag),
	})
}

// deleteTagged queues the deletion of every rule tagged with tag. f.mu must
// be held; the caller flushes.
func (f *Firewall) deleteTagged(tag string) error {
	var del []*nftables.Rule
	err := f.eachRule(func(r *nftables.Rule) {
		if t, ok := userdata.GetString(r.UserData, userdata.TypeComment); ok && t == tag {
			del = append(del, r)
		}
	})
	if err != nil {
		return err
	}
	for _, r := range del {
		if err := f.conn.DelRule(r); err != nil {
			return fmt.Errorf("delete rule %d of chain %s: %w", r.Handle, r.Chain.Name, err)
		}
	}
	return nil
}

func (f *Firewall) eachRule(fn func(*nftables.Rule)) error {
	for _, c := range f.chains() {
		rules, err := f.conn.GetRules(f.table, c)
		if err != nil {
			return fmt.Errorf("list the rules of chain %s: %w", c.Name, err)
		}
		for _, r := range rules {
			fn(r)
		}
	}
	return nil
}
