// Package portmap turns docker's -p and -P into port bindings and reserves
// their host ports, so that a port in use is refused before anything is
// published and stays skiff's while it is.
package portmap

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/docker/go-connections/nat"
)

// Binding is one published port as asked for, before its host port is
// reserved.
type Binding struct {
	Proto string // "tcp" or "udp"
	// HostIP is the host address to publish on; 0.0.0.0 for every address.
	HostIP netip.Addr
	// HostPort is the host port; 0 asks for any free one. With HostPortEnd
	// above it, the first free port of HostPort-HostPortEnd is taken.
	HostPort, HostPortEnd uint16
	ContainerPort         uint16
}

// String formats b as the -p option that asks for it.
func (b Binding) String() string {
	host := ""
	if b.HostPort != 0 {
		host = strconv.Itoa(int(b.HostPort))
		if b.HostPortEnd > b.HostPort {
			host += "-" + strconv.Itoa(int(b.HostPortEnd))
		}
	}
	return fmt.Sprintf("%s:%s:%d/%s", b.HostIP, host, b.ContainerPort, b.Proto)
}

// Parse reads -p options, in Docker's syntax:
//
//	[ip:][hostPort:]containerPort[/tcp|udp]
//	[ip:][hostPort-range:]containerPort-range[/tcp|udp]
//
// A container port range yields one binding per port; a host port range
// against a single container port means "the first free port of the range".
func Parse(specs []string) ([]Binding, error) {
	var out []Binding
	for _, spec := range specs {
		mappings, err := nat.ParsePortSpec(spec)
		if err != nil {
			return nil, fmt.Errorf("port spec %q: %w", spec, err)
		}
		for _, m := range mappings {
			b, err := binding(m.Port, m.Binding)
			if err != nil {
				return nil, fmt.Errorf("port spec %q: %w", spec, err)
			}
			out = append(out, b)
		}
	}
	return out, nil
}

// Exposed expands -P: every port the image EXPOSEs ("80/tcp", "53/udp",
// "8000-8001/tcp"; no protocol means tcp) on every host address, each to a
// free host port. The result is sorted, so -P maps the same way every time.
func Exposed(ports []string) ([]Binding, error) {
	var out []Binding
	for _, p := range ports {
		proto, rng := nat.SplitProtoPort(p)
		port, err := nat.NewPort(proto, rng)
		if err != nil {
			return nil, fmt.Errorf("exposed port %q: %w", p, err)
		}
		start, end, err := port.Range()
		if err != nil {
			return nil, fmt.Errorf("exposed port %q: %w", p, err)
		}
		for n := start; n <= end; n++ {
			b, err := binding(nat.Port(fmt.Sprintf("%d/%s", n, proto)), nat.PortBinding{})
			if err != nil {
				return nil, fmt.Errorf("exposed port %q: %w", p, err)
			}
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b Binding) int {
		return cmp.Or(cmp.Compare(a.ContainerPort, b.ContainerPort), cmp.Compare(a.Proto, b.Proto))
	})
	return slices.Compact(out), nil
}

func binding(port nat.Port, host nat.PortBinding) (Binding, error) {
	b := Binding{Proto: port.Proto(), HostIP: netip.IPv4Unspecified()}
	if b.Proto != "tcp" && b.Proto != "udp" {
		return Binding{}, fmt.Errorf("protocol %s: only tcp and udp can be published", b.Proto)
	}
	n, err := strconv.ParseUint(port.Port(), 10, 16)
	if err != nil || n == 0 {
		return Binding{}, fmt.Errorf("container port %q: want 1 to 65535", port.Port())
	}
	b.ContainerPort = uint16(n)

	if host.HostIP != "" {
		ip, err := netip.ParseAddr(host.HostIP)
		if err != nil {
			return Binding{}, fmt.Errorf("host address: %w", err)
		}
		if !ip.Unmap().Is4() {
			return Binding{}, fmt.Errorf("host address %s: only IPv4 can be published", ip)
		}
		b.HostIP = ip.Unmap()
	}
	if host.HostPort != "" {
		start, end, err := nat.ParsePortRangeToInt(host.HostPort)
		if err != nil || start == 0 {
			return Binding{}, fmt.Errorf("host port %q: want 1 to 65535", host.HostPort)
		}
		b.HostPort = uint16(start)
		if end > start {
			b.HostPortEnd = uint16(end)
		}
	}
	return b, nil
}
