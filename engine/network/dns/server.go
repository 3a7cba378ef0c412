package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DefaultTimeout bounds one exchange with an upstream when Config.Timeout
// is zero: short enough that a second upstream is still tried before a
// client's own timeout (5s in glibc) runs out.
const DefaultTimeout = 2 * time.Second

// ttl is the lifetime of an answer for a container's name, Docker's.
const ttl = 600

// maxInFlight bounds the queries being answered at once over UDP; more are
// dropped, and their clients retry, rather than each holding a goroutine
// waiting on a slow upstream.
const maxInFlight = 256

// udpLimit is the largest answer over UDP for a client that does not say
// otherwise with EDNS (RFC 1035).
const udpLimit = 512

// Config is where a Server listens and what it answers with.
type Config struct {
	// Addr is the address and port it listens on, over UDP and TCP: the
	// network's gateway, port 53. Port 0 picks a free port (for tests).
	Addr netip.AddrPort
	// Clients, when valid, is the only source of queries answered (the
	// network's subnet); queries from elsewhere are refused.
	Clients netip.Prefix
	// Names are the containers' names on the network.
	Names Names
	// Upstreams are the resolvers other queries go to, tried in order
	// while they do not answer.
	Upstreams []netip.AddrPort
	// Timeout bounds each exchange with an upstream; 0 is DefaultTimeout.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Server is a running responder.
type Server struct {
	cfg    Config
	udp    *net.UDPConn
	tcp    *net.TCPListener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	slots  chan struct{}
}

// Listen binds cfg.Addr over UDP and TCP and starts answering.
func Listen(cfg Config) (*Server, error) {
	if cfg.Names == nil {
		return nil, errors.New("dns: Config.Names is nil")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	udp, tcp, err := listen(cfg.Addr)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, udp: udp, tcp: tcp, slots: make(chan struct{}, maxInFlight)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	return s, nil
}

// listen binds addr over UDP and TCP on one port. With port 0 the kernel
// picks the UDP port, which TCP may already use elsewhere: then another
// is tried.
func listen(addr netip.AddrPort) (*net.UDPConn, *net.TCPListener, error) {
	for attempt := 0; ; attempt++ {
		udp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
		if err != nil {
			return nil, nil, fmt.Errorf("dns: listen on %s/udp: %w", addr, err)
		}
		port := udp.LocalAddr().(*net.UDPAddr).AddrPort().Port()
		tcp, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(addr.Addr(), port)))
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		if addr.Port() != 0 || attempt == 10 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, fmt.Errorf("dns: listen on %s/tcp: %w", net.JoinHostPort(addr.Addr().String(), strconv.Itoa(int(port))), err)
		}
	}
}

// Addr is the address and port the server answers on.
func (s *Server) Addr() netip.AddrPort {
	return s.udp.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Close stops answering, ends the exchanges in progress and waits for them.
func (s *Server) Close() error {
	s.cancel()
	err := errors.Join(s.udp.Close(), s.tcp.Close())
	s.wg.Wait()
	return err
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	for {
		// Queries are a few dozen bytes; a larger datagram is cut and then
		// fails to parse, which is fine for what is not a resolver's query.
		buf := make([]byte, 4096)
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if s.ctx.Err() == nil {
				s.cfg.Logger.Error("dns: read a query", "addr", s.Addr(), "err", err)
			}
			return
		}
		select {
		case s.slots <- struct{}{}:
		default:
			continue // the client retries
		}
		s.wg.Add(1)
		go func() {
			defer func() { <-s.slots; s.wg.Done() }()
			if resp := s.answer(s.ctx, from.Addr().Unmap(), buf[:n], false); resp != nil {
				s.udp.WriteToUDPAddrPort(resp, from)
			}
		}()
	}
}

// tcpIdle is how long a client's TCP connection may wait between queries.
const tcpIdle = 10 * time.Second

func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		conn, err := s.tcp.AcceptTCP()
		if err != nil {
			if s.ctx.Err() == nil {
				s.cfg.Logger.Error("dns: accept a connection", "addr", s.Addr(), "err", err)
			}
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			stop := context.AfterFunc(s.ctx, func() { conn.Close() })
			defer stop()
			from := conn.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
			for {
				conn.SetReadDeadline(time.Now().Add(tcpIdle))
				query, err := readFramed(conn)
				if err != nil {
					return
				}
				resp := s.answer(s.ctx, from, query, true)
				if resp == nil || writeFramed(conn, resp) != nil {
					return
				}
			}
		}()
	}
}

// answer returns the response to query from a client, or nil when there is
// nothing to answer to (not a query, or not even a header).
func (s *Server) answer(ctx context.Context, from netip.Addr, query []byte, overTCP bool) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return s.reply(h, nil, dnsmessage.RCodeFormatError, nil)
	}
	if _, err := p.Question(); !errors.Is(err, dnsmessage.ErrSectionDone) {
		return s.reply(h, &q, dnsmessage.RCodeFormatError, nil) // one question per query, as every resolver sends
	}
	if h.OpCode != 0 {
		return s.reply(h, &q, dnsmessage.RCodeNotImplemented, nil)
	}
	if s.cfg.Clients.IsValid() && !s.cfg.Clients.Contains(from) {
		return s.reply(h, &q, dnsmessage.RCodeRefused, nil)
	}
	limit := 65535
	if !overTCP {
		limit = udpSize(&p)
	}
	var resp []byte
	if q.Class == dnsmessage.ClassINET {
		if addrs := s.cfg.Names.Lookup(q.Name.String()); len(addrs) > 0 {
			// A container's name has its IPv4 addresses and nothing else: no
			// other type of query about it goes upstream.
			if q.Type != dnsmessage.TypeA {
				addrs = nil
			}
			resp = s.reply(h, &q, dnsmessage.RCodeSuccess, addrs)
		}
	}
	if resp == nil {
		resp = s.forward(ctx, h, q, query)
	}
	if len(resp) > limit {
		// The client asks again over TCP.
		return s.replyWith(h, &q, dnsmessage.RCodeSuccess, nil, true)
	}
	return resp
}

// forward returns an upstream's answer to query, SERVFAIL when none
// answers, or NXDOMAIN when there is no upstream to ask.
func (s *Server) forward(ctx context.Context, h dnsmessage.Header, q dnsmessage.Question, query []byte) []byte {
	if len(s.cfg.Upstreams) == 0 {
		return s.reply(h, &q, dnsmessage.RCodeNameError, nil)
	}
	var errs []error
	for _, up := range s.cfg.Upstreams {
		resp, err := exchange(ctx, up, query, s.cfg.Timeout)
		if err == nil {
			return resp
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	s.cfg.Logger.Debug("dns: no upstream answered", "name", q.Name.String(), "type", q.Type.String(), "err", errors.Join(errs...))
	return s.reply(h, &q, dnsmessage.RCodeServerFailure, nil)
}

func (s *Server) reply(req dnsmessage.Header, q *dnsmessage.Question, rcode dnsmessage.RCode, addrs []netip.Addr) []byte {
	return s.replyWith(req, q, rcode, addrs, false)
}

// replyWith builds the response to req: its question, rcode and an A
// record for each of addrs.
func (s *Server) replyWith(req dnsmessage.Header, q *dnsmessage.Question, rcode dnsmessage.RCode, addrs []netip.Addr, truncated bool) []byte {
	b := dnsmessage.NewBuilder(make([]byte, 0, udpLimit), dnsmessage.Header{
		ID: req.ID, Response: true, OpCode: req.OpCode, RCode: rcode, Truncated: truncated,
		Authoritative:    q != nil && rcode == dnsmessage.RCodeSuccess && !truncated,
		RecursionDesired: req.RecursionDesired, RecursionAvailable: true,
	})
	b.EnableCompression()
	msg, err := func() ([]byte, error) {
		if q == nil {
			return b.Finish()
		}
		if err := b.StartQuestions(); err != nil {
			return nil, err
		}
		if err := b.Question(*q); err != nil {
			return nil, err
		}
		if err := b.StartAnswers(); err != nil {
			return nil, err
		}
		for _, a := range addrs {
			rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: ttl}
			if err := b.AResource(rh, dnsmessage.AResource{A: a.As4()}); err != nil {
				return nil, err
			}
		}
		return b.Finish()
	}()
	if err != nil {
		// Only a name or record the parser accepted yet the builder does not
		// gets here; the client's retry or timeout is all that is left.
		s.cfg.Logger.Error("dns: build a response", "err", err)
		return nil
	}
	return msg
}

// udpSize is the largest UDP response the client takes: its EDNS payload
// size, or 512. p is past the question.
func udpSize(p *dnsmessage.Parser) int {
	if p.SkipAllAnswers() != nil || p.SkipAllAuthorities() != nil {
		return udpLimit
	}
	for {
		h, err := p.AdditionalHeader()
		if err != nil {
			return udpLimit
		}
		if h.Type == dnsmessage.TypeOPT {
			return max(int(h.Class), udpLimit) // OPT's class is the payload size
		}
		if p.SkipAdditional() != nil {
			return udpLimit
		}
	}
}
