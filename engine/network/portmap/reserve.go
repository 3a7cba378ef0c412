package portmap

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// PortInUseError is a host port taken by another process or container.
type PortInUseError struct {
	Binding Binding
	Err     error // the bind error, unix.EADDRINUSE
}

// Error reads as Docker's message, which users and scripts look for.
func (e *PortInUseError) Error() string {
	port := fmt.Sprint(e.Binding.HostPort)
	if e.Binding.HostPortEnd > e.Binding.HostPort {
		port += fmt.Sprintf("-%d", e.Binding.HostPortEnd)
	}
	return fmt.Sprintf("Bind for %s:%s failed: port is already allocated", e.Binding.HostIP, port)
}

// Unwrap makes the error a conflict (errdefs.IsConflict) and keeps the cause.
func (e *PortInUseError) Unwrap() []error { return []error{errdefs.ErrConflict, e.Err} }

// Reservation holds a bound socket on a host port so that no one else can
// take the port while it is published. The socket never listens: packets
// for the port are DNATed to the container before they could reach it.
type Reservation struct {
	Binding // with HostPort the port reserved and no range
	fd      int
}

// Close releases the port.
func (r *Reservation) Close() error {
	if r.fd < 0 {
		return nil
	}
	err := unix.Close(r.fd)
	r.fd = -1
	if err != nil {
		return fmt.Errorf("release host port %d/%s: %w", r.HostPort, r.Proto, err)
	}
	return nil
}

// Reserve binds b's host port, or the first free one of its range, or any
// free one when it asks for none. A port in use is a *PortInUseError.
func Reserve(b Binding) (*Reservation, error) {
	if !b.HostIP.Is4() {
		return nil, fmt.Errorf("reserve %s: only IPv4 host addresses are supported", b)
	}
	last := max(b.HostPortEnd, b.HostPort)
	for port := b.HostPort; ; port++ {
		fd, got, err := bind(b.Proto, netip.AddrPortFrom(b.HostIP, port))
		if err == nil {
			r := &Reservation{Binding: b, fd: fd}
			r.HostPort, r.HostPortEnd = got, 0
			return r, nil
		}
		if !errors.Is(err, unix.EADDRINUSE) {
			return nil, fmt.Errorf("reserve %s: %w", b, err)
		}
		if port >= last {
			return nil, &PortInUseError{Binding: b, Err: err}
		}
	}
}

// ReserveAll reserves every binding, or none: on an error the ports
// already reserved are released.
func ReserveAll(bs []Binding) ([]*Reservation, error) {
	var rs []*Reservation
	for _, b := range bs {
		r, err := Reserve(b)
		if err != nil {
			for _, r := range rs {
				r.Close()
			}
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// bind returns a socket bound to addr and the port it got. It sets no
// SO_REUSEADDR, so that a bind conflicts with any socket on the port,
// listening or not, and with a [::] socket that also takes IPv4.
func bind(proto string, addr netip.AddrPort) (int, uint16, error) {
	typ := unix.SOCK_STREAM
	if proto == "udp" {
		typ = unix.SOCK_DGRAM
	} else if proto != "tcp" {
		return -1, 0, fmt.Errorf("protocol %q: want tcp or udp", proto)
	}
	fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, fmt.Errorf("socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: addr.Addr().As4(), Port: int(addr.Port())}); err != nil {
		unix.Close(fd)
		return -1, 0, fmt.Errorf("bind %s/%s: %w", addr, proto, err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, 0, fmt.Errorf("getsockname: %w", err)
	}
	return fd, uint16(sa.(*unix.SockaddrInet4).Port), nil
}
