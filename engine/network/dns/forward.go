package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// exchange asks upstream query over UDP, and again over TCP when the answer
// comes truncated. A TCP exchange that fails leaves the truncated answer,
// which tells the client to ask over TCP itself.
func exchange(ctx context.Context, upstream netip.AddrPort, query []byte, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := exchangeUDP(ctx, upstream, query)
	if err != nil {
		return nil, fmt.Errorf("ask %s over UDP: %w", upstream, err)
	}
	if isTruncated(resp) {
		if full, err := exchangeTCP(ctx, upstream, query); err == nil {
			return full, nil
		}
	}
	return resp, nil
}

func exchangeUDP(ctx context.Context, upstream netip.AddrPort, query []byte) ([]byte, error) {
	// A connected socket of its own per query: the kernel drops datagrams
	// from anyone but the upstream, and its random port guards against
	// spoofed answers as well as the ID does.
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", upstream.String())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := conn.Write(query); err != nil {
		return nil, err
	}
	id := binary.BigEndian.Uint16(query)
	buf := make([]byte, 65535)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		var p dnsmessage.Parser
		if h, err := p.Start(buf[:n]); err == nil && h.Response && h.ID == id {
			return buf[:n], nil
		}
	}
}

func exchangeTCP(ctx context.Context, upstream netip.AddrPort, query []byte) ([]byte, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", upstream.String())
	if err != nil {
		return nil, fmt.Errorf("ask %s over TCP: %w", upstream, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if err := writeFramed(conn, query); err != nil {
		return nil, fmt.Errorf("ask %s over TCP: %w", upstream, err)
	}
	resp, err := readFramed(conn)
	if err != nil {
		return nil, fmt.Errorf("ask %s over TCP: %w", upstream, err)
	}
	return resp, nil
}

func isTruncated(msg []byte) bool {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	return err == nil && h.Truncated
}

// readFramed reads one message of DNS over TCP: a two-byte length, then
// the message.
func readFramed(r io.Reader) ([]byte, error) {
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

func writeFramed(w io.Writer, msg []byte) error {
	if len(msg) > 65535 {
		return errors.New("message longer than 65535 bytes")
	}
	buf := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(msg)), uint16(len(msg)))
	_, err := w.Write(append(buf, msg...))
	return err
}
