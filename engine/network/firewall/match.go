package firewall

import (
	"net/netip"

	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The builders below each return the expressions of one match or action;
// a rule is their concatenation. Every match loads into register 1, which
// the next match is free to overwrite.

// IPv4 header offsets of the addresses.
const (
	offSaddr = 12
	offDaddr = 16
)

// ifname pads a device name to IFNAMSIZ, as the kernel compares all 16 bytes.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

func iif(name string) []expr.Any    { return iface(expr.MetaKeyIIFNAME, expr.CmpOpEq, name) }
func oif(name string) []expr.Any    { return iface(expr.MetaKeyOIFNAME, expr.CmpOpEq, name) }
func notOif(name string) []expr.Any { return iface(expr.MetaKeyOIFNAME, expr.CmpOpNeq, name) }

func iface(key expr.MetaKey, op expr.CmpOp, name string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: ifname(name)},
	}
}

// addrIn matches the IPv4 address at offset against a prefix.
func addrIn(offset uint32, p netip.Prefix) []expr.Any {
	p = p.Masked()
	mask := make([]byte, 4)
	for i := range p.Bits() {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	network := p.Addr().As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: network[:]},
	}
}

// addrIs matches the IPv4 address at offset exactly.
func addrIs(offset uint32, a netip.Addr) []expr.Any {
	b := a.As4()
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b[:]},
	}
}

// dport matches the transport protocol and its destination port.
func dport(proto Proto, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto.number()}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
	}
}

// localDaddr matches packets addressed to one of this namespace's own
// addresses, what iptables calls --dst-type LOCAL.
func localDaddr() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

// ctAny matches when any of bits is set in the conntrack key (state or
// status, both host-endian 32-bit words).
func ctAny(key expr.CtKey, bits uint32) []expr.Any {
	return ctBits(key, bits, expr.CmpOpNeq)
}

// ctNone matches when none of bits is set.
func ctNone(key expr.CtKey, bits uint32) []expr.Any {
	return ctBits(key, bits, expr.CmpOpEq)
}

func ctBits(key expr.CtKey, bits uint32, op expr.CmpOp) []expr.Any {
	zero := make([]byte, 4)
	return []expr.Any{
		&expr.Ct{Register: 1, Key: key},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: zero},
		&expr.Cmp{Op: op, Register: 1, Data: zero},
	}
}

// ipsDstNAT is the conntrack status bit of a connection whose destination
// was rewritten (IPS_DST_NAT in the kernel's nf_conntrack_common.h).
const ipsDstNAT = 1 << 5

const ctEstablishedOrRelated = expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED

func dnat(to netip.AddrPort) []expr.Any {
	addr := to.Addr().As4()
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: addr[:]},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(to.Port())},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2},
	}
}

func masquerade() []expr.Any { return []expr.Any{&expr.Masq{}} }

func verdict(kind expr.VerdictKind) []expr.Any { return []expr.Any{&expr.Verdict{Kind: kind}} }

func jump(chain string) []expr.Any {
	return []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: chain}}
}

// rule concatenates matches and a final action.
func rule(parts ...[]expr.Any) []expr.Any {
	var exprs []expr.Any
	for _, p := range parts {
		exprs = append(exprs, p...)
	}
	return exprs
}
