// Package dns is the embedded DNS responder of user-defined networks: it
// answers A queries for the names of the containers on its network and
// forwards every other query to the host's resolvers, so containers find
// each other by name as on Docker's user-defined networks.
//
// Where it listens, and why: one responder per network, on the network's
// gateway address (the bridge's own address in the host's namespace), port
// 53 over UDP and TCP, and the containers' resolv.conf names the gateway.
// Docker instead binds 127.0.0.11 inside every container's namespace and
// DNATs port 53 to its resolver there. A listener on the gateway needs no
// socket and no NAT rules per container, no entering of namespaces, works
// the same for a container however it was started, and reaches the host's
// resolvers as the daemon does — including a stub such as systemd-resolved
// on 127.0.0.53, which a container's namespace cannot reach and Docker has to
// work around. The price is that the address is reachable from other
// bridges through the host, so a Server answers only the clients of its own
// subnet (Config.Clients) and refuses the rest; and that a container on
// several networks asks the responder of the network its resolv.conf names,
// which knows that network's names only.
//
// Names answer with TTL 600 (as Docker's), AAAA queries for them get an
// empty answer (the networks are IPv4 only), and names the network does not
// know go upstream: over UDP, then over TCP when the answer comes truncated.
// An upstream's answer, NXDOMAIN included, is relayed as it is; SERVFAIL
// means no upstream answered; with no upstream configured (an internal
// network) unknown names are NXDOMAIN.
package dns
