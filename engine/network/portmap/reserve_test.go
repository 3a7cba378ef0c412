package portmap

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// inFreshNetNS runs fn on a thread in a new network namespace with only lo,
// so that the ports it binds are nobody else's. The thread and the
// namespace end with fn; fn must not call t.FailNow, which works only on
// the test's own goroutine.
func inFreshNetNS(t *testing.T, fn func()) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs root and network namespaces")
	}
	done := make(chan struct{})
	var setupErr error
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		ns, err := netns.New()
		if err != nil {
			setupErr = err
			return
		}
		defer ns.Close()
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		if err != nil {
			setupErr = err
			return
		}
		fn()
	}()
	<-done
	if setupErr != nil {
		t.Fatalf("fresh network namespace: %v", setupErr)
	}
}

func reserve(t *testing.T, b Binding) *Reservation {
	t.Helper()
	r, err := Reserve(b)
	if err != nil {
		t.Errorf("Reserve(%s): %v", b, err)
		return &Reservation{fd: -1}
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func wantInUse(t *testing.T, b Binding, msg string) {
	t.Helper()
	r, err := Reserve(b)
	if err == nil {
		r.Close()
		t.Errorf("Reserve(%s) succeeded, want the port in use", b)
		return
	}
	var inUse *PortInUseError
	if !errors.As(err, &inUse) || !errdefs.IsConflict(err) || !errors.Is(err, unix.EADDRINUSE) {
		t.Errorf("Reserve(%s) = %v, want a conflict for EADDRINUSE", b, err)
	}
	if err.Error() != msg {
		t.Errorf("Reserve(%s) error %q, want %q", b, err, msg)
	}
}

func TestReserve(t *testing.T) {
	tcp := func(ip netip.Addr, port, end uint16) Binding {
		return Binding{Proto: "tcp", HostIP: ip, HostPort: port, HostPortEnd: end, ContainerPort: 80}
	}
	udp := func(ip netip.Addr, port uint16) Binding {
		return Binding{Proto: "udp", HostIP: ip, HostPort: port, ContainerPort: 53}
	}
	// Each case runs on a thread in a namespace of its own: the binds must
	// not reach the host's ports, and t.Run would leave the thread.
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"taken by another reservation", func(t *testing.T) {
			reserve(t, tcp(any4, 8080, 0))
			wantInUse(t, tcp(any4, 8080, 0), "Bind for 0.0.0.0:8080 failed: port is already allocated")
			wantInUse(t, tcp(lo, 8080, 0), "Bind for 127.0.0.1:8080 failed: port is already allocated")
			reserve(t, udp(any4, 8080)) // another protocol, another port
		}},
		{"taken by a listener on loopback", func(t *testing.T) {
			l, err := net.Listen("tcp4", "127.0.0.1:8081") // with SO_REUSEADDR, as Go sets it
			if err != nil {
				t.Error(err)
				return
			}
			defer l.Close()
			wantInUse(t, tcp(any4, 8081, 0), "Bind for 0.0.0.0:8081 failed: port is already allocated")
		}},
		{"taken by a dual-stack listener", func(t *testing.T) {
			l, err := net.Listen("tcp", "[::]:8082")
			if err != nil {
				t.Skipf("no IPv6 here: %v", err)
			}
			defer l.Close()
			wantInUse(t, tcp(lo, 8082, 0), "Bind for 127.0.0.1:8082 failed: port is already allocated")
		}},
		{"udp", func(t *testing.T) {
			pc, err := net.ListenPacket("udp4", "0.0.0.0:5353")
			if err != nil {
				t.Error(err)
				return
			}
			defer pc.Close()
			wantInUse(t, udp(lo, 5353), "Bind for 127.0.0.1:5353 failed: port is already allocated")
		}},
		{"a held port keeps others out and is free once closed", func(t *testing.T) {
			r, err := Reserve(tcp(any4, 8083, 0))
			if err != nil {
				t.Error(err)
				return
			}
			if l, err := net.Listen("tcp4", "127.0.0.1:8083"); err == nil {
				l.Close()
				t.Error("a listener got a reserved port")
			}
			if err := r.Close(); err != nil {
				t.Error(err)
				return
			}
			reserve(t, tcp(any4, 8083, 0))
		}},
		{"any free port", func(t *testing.T) {
			r := reserve(t, tcp(any4, 0, 0))
			if r.HostPort == 0 {
				t.Error("no port chosen")
			}
			wantInUse(t, tcp(any4, r.HostPort, 0), "Bind for 0.0.0.0:"+strconv.Itoa(int(r.HostPort))+" failed: port is already allocated")
		}},
		{"first free port of a range", func(t *testing.T) {
			reserve(t, tcp(any4, 9000, 0))
			r := reserve(t, tcp(any4, 9000, 9002))
			if r.HostPort != 9001 || r.HostPortEnd != 0 {
				t.Errorf("reserved %d-%d, want 9001", r.HostPort, r.HostPortEnd)
			}
			reserve(t, tcp(any4, 9002, 0))
			wantInUse(t, tcp(any4, 9000, 9002), "Bind for 0.0.0.0:9000-9002 failed: port is already allocated")
		}},
		{"all or nothing", func(t *testing.T) {
			reserve(t, udp(any4, 9101))
			_, err := ReserveAll([]Binding{tcp(any4, 9100, 0), udp(any4, 9101)})
			if !errdefs.IsConflict(err) {
				t.Errorf("ReserveAll: %v, want a conflict", err)
			}
			reserve(t, tcp(any4, 9100, 0)) // released by the failed ReserveAll
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { inFreshNetNS(t, func() { tt.run(t) }) })
	}
}
