package dns

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// upstream is a fake resolver on loopback: over UDP and TCP it knows
// example.test (one address), big.test (too many addresses for 512 bytes,
// so truncated over UDP) and nothing else (NXDOMAIN).
var exampleAddr = netip.MustParseAddr("192.0.2.1")

func startUpstream(t *testing.T) netip.AddrPort {
	t.Helper()
	udp, tcp, err := listen(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close(); tcp.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := udp.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			udp.WriteToUDPAddrPort(upstreamAnswer(t, buf[:n], false), from)
		}
	}()
	go func() {
		for {
			conn, err := tcp.Accept()
			if err != nil {
				return
			}
			if q, err := readFramed(conn); err == nil {
				writeFramed(conn, upstreamAnswer(t, q, true))
			}
			conn.Close()
		}
	}()
	return udp.LocalAddr().(*net.UDPAddr).AddrPort()
}

func upstreamAnswer(t *testing.T, query []byte, overTCP bool) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		t.Errorf("upstream: %v", err)
		return nil
	}
	q, _ := p.Question()
	var addrs []netip.Addr
	rcode, truncated := dnsmessage.RCodeSuccess, false
	switch q.Name.String() {
	case "example.test.":
		addrs = []netip.Addr{exampleAddr}
	case "big.test.":
		if !overTCP {
			truncated = true
			break
		}
		for a := netip.MustParseAddr("198.51.100.1"); len(addrs) < 100; a = a.Next() {
			addrs = append(addrs, a)
		}
	default:
		rcode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RCode: rcode, Truncated: truncated, RecursionAvailable: true})
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	for _, a := range addrs {
		b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 30}, dnsmessage.AResource{A: a.As4()})
	}
	msg, err := b.Finish()
	if err != nil {
		t.Errorf("upstream: %v", err)
	}
	return msg
}

// closedPort is a loopback UDP port nothing listens on: a query to it is
// refused at once (ICMP port unreachable), with no timeout to wait for.
func closedPort(t *testing.T) netip.AddrPort {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().(*net.UDPAddr).AddrPort()
	c.Close()
	return addr
}

func startServer(t *testing.T, names Names, clients string, upstreams ...netip.AddrPort) *Server {
	t.Helper()
	s, err := Listen(Config{
		Addr: netip.MustParseAddrPort("127.0.0.1:0"), Clients: netip.MustParsePrefix(clients),
		Names: names, Upstreams: upstreams,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// answer is what a response says, in a comparable form.
type answer struct {
	rcode     dnsmessage.RCode
	truncated bool
	addrs     []netip.Addr
}

func ask(t *testing.T, server netip.AddrPort, network, name string, typ dnsmessage.Type) answer {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 0x1234, RecursionDesired: true})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET})
	query, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial(network, server.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Not a timed assertion: only a bound on a hung test.
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	var resp []byte
	if network == "tcp" {
		if err := writeFramed(conn, query); err != nil {
			t.Fatal(err)
		}
		resp, err = readFramed(conn)
	} else {
		if _, err := conn.Write(query); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 65535)
		var n int
		n, err = conn.Read(buf)
		resp = buf[:n]
	}
	if err != nil {
		t.Fatalf("ask %s for %s: %v", server, name, err)
	}
	if network == "udp" && len(resp) > udpLimit {
		t.Errorf("a %d-byte answer over UDP to a client without EDNS", len(resp))
	}
	var p dnsmessage.Parser
	h, err := p.Start(resp)
	if err != nil {
		t.Fatal(err)
	}
	if h.ID != 0x1234 || !h.Response {
		t.Errorf("response header %+v", h)
	}
	if q, err := p.Question(); err != nil || q.Name.String() != name {
		t.Errorf("response's question %v, %v; want %s", q, err, name)
	}
	p.SkipAllQuestions()
	got := answer{rcode: h.RCode, truncated: h.Truncated}
	answers, err := p.AllAnswers()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range answers {
		got.addrs = append(got.addrs, netip.AddrFrom4(a.Body.(*dnsmessage.AResource).A))
	}
	return got
}

func addrs(s ...string) []netip.Addr {
	var list []netip.Addr
	for _, a := range s {
		list = append(list, netip.MustParseAddr(a))
	}
	return list
}

func TestServerAnswersNamesAndForwardsTheRest(t *testing.T) {
	names := NewRegistry()
	names.Set("c1", netip.MustParseAddr("172.18.0.2"), "web", "0123456789ab", "frontend")
	names.Set("c2", netip.MustParseAddr("172.18.0.3"), "Db", "frontend")
	s := startServer(t, names, "127.0.0.0/8", startUpstream(t))
	bigAddrs := func() []netip.Addr {
		var list []netip.Addr
		for a := netip.MustParseAddr("198.51.100.1"); len(list) < 100; a = a.Next() {
			list = append(list, a)
		}
		return list
	}()

	tests := []struct {
		name    string
		network string
		typ     dnsmessage.Type
		want    answer
	}{
		{"web.", "udp", dnsmessage.TypeA, answer{addrs: addrs("172.18.0.2")}},
		{"WEB.", "udp", dnsmessage.TypeA, answer{addrs: addrs("172.18.0.2")}},
		{"db.", "udp", dnsmessage.TypeA, answer{addrs: addrs("172.18.0.3")}},
		{"0123456789ab.", "tcp", dnsmessage.TypeA, answer{addrs: addrs("172.18.0.2")}},
		{"frontend.", "udp", dnsmessage.TypeA, answer{addrs: addrs("172.18.0.2", "172.18.0.3")}},
		// A container's name has no IPv6 address, and is not asked upstream.
		{"web.", "udp", dnsmessage.TypeAAAA, answer{}},
		{"example.test.", "udp", dnsmessage.TypeA, answer{addrs: addrs("192.0.2.1")}},
		{"example.test.", "tcp", dnsmessage.TypeA, answer{addrs: addrs("192.0.2.1")}},
		{"nosuch.test.", "udp", dnsmessage.TypeA, answer{rcode: dnsmessage.RCodeNameError}},
		{"web.example.", "udp", dnsmessage.TypeA, answer{rcode: dnsmessage.RCodeNameError}},
		// Truncated over UDP upstream: fetched over TCP, too big for the
		// client's 512 bytes, so truncated for it; whole over TCP.
		{"big.test.", "udp", dnsmessage.TypeA, answer{truncated: true}},
		{"big.test.", "tcp", dnsmessage.TypeA, answer{addrs: bigAddrs}},
	}
	for _, tt := range tests {
		t.Run(tt.network+" "+tt.typ.String()+" "+tt.name, func(t *testing.T) {
			got := ask(t, s.Addr(), tt.network, tt.name, tt.typ)
			if got.rcode != tt.want.rcode || got.truncated != tt.want.truncated || !slices.Equal(got.addrs, tt.want.addrs) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestServerUpstreamFailures(t *testing.T) {
	names := NewRegistry()
	tests := []struct {
		name      string
		upstreams []netip.AddrPort
		want      dnsmessage.RCode
	}{
		{"upstream down", []netip.AddrPort{closedPort(t)}, dnsmessage.RCodeServerFailure},
		{"first upstream down, second answers", []netip.AddrPort{closedPort(t), startUpstream(t)}, dnsmessage.RCodeSuccess},
		{"no upstream: an internal network", nil, dnsmessage.RCodeNameError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, names, "127.0.0.0/8", tt.upstreams...)
			if got := ask(t, s.Addr(), "udp", "example.test.", dnsmessage.TypeA); got.rcode != tt.want {
				t.Errorf("rcode %v, want %v", got.rcode, tt.want)
			}
		})
	}
}

func TestServerForgetsRemovedNames(t *testing.T) {
	names := NewRegistry()
	names.Set("c1", netip.MustParseAddr("172.18.0.2"), "web")
	s := startServer(t, names, "127.0.0.0/8", startUpstream(t))
	if got := ask(t, s.Addr(), "udp", "web.", dnsmessage.TypeA); !slices.Equal(got.addrs, addrs("172.18.0.2")) {
		t.Fatalf("before removal: %+v", got)
	}
	names.Remove("c1")
	if got := ask(t, s.Addr(), "udp", "web.", dnsmessage.TypeA); got.rcode != dnsmessage.RCodeNameError || len(got.addrs) > 0 {
		t.Errorf("after removal: %+v, want NXDOMAIN from upstream", got)
	}
	// Set again with another address (a restart on the network) replaces it.
	names.Set("c1", netip.MustParseAddr("172.18.0.9"), "web")
	if got := ask(t, s.Addr(), "udp", "web.", dnsmessage.TypeA); !slices.Equal(got.addrs, addrs("172.18.0.9")) {
		t.Errorf("after a new Set: %+v", got)
	}
}

func TestServerRefusesClientsOutsideItsNetwork(t *testing.T) {
	names := NewRegistry()
	names.Set("c1", netip.MustParseAddr("172.18.0.2"), "web")
	s := startServer(t, names, "172.18.0.0/16", startUpstream(t))
	for _, network := range []string{"udp", "tcp"} {
		if got := ask(t, s.Addr(), network, "web.", dnsmessage.TypeA); got.rcode != dnsmessage.RCodeRefused || len(got.addrs) > 0 {
			t.Errorf("%s from 127.0.0.1: %+v, want REFUSED", network, got)
		}
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	r.Set("a", netip.MustParseAddr("10.0.0.2"), "One", "shared", "one.")
	r.Set("b", netip.MustParseAddr("10.0.0.3"), "two", "SHARED")
	tests := []struct {
		name string
		want []netip.Addr
	}{
		{"one", addrs("10.0.0.2")},
		{"ONE.", addrs("10.0.0.2")},
		{"shared", addrs("10.0.0.2", "10.0.0.3")},
		{"three", nil},
	}
	for _, tt := range tests {
		if got := r.Lookup(tt.name); !slices.Equal(got, tt.want) {
			t.Errorf("Lookup(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
	r.Remove("a")
	if got := r.Lookup("shared"); !slices.Equal(got, addrs("10.0.0.3")) {
		t.Errorf("after Remove: shared = %v", got)
	}
	if got := r.Lookup("one"); len(got) != 0 {
		t.Errorf("after Remove: one = %v", got)
	}
}
