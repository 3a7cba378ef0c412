package dns

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strings"
)

// HostUpstreams are the nameservers of the resolver configuration at path
// (the host's /etc/resolv.conf) a responder forwards to, port 53. Loopback
// ones are left out: the daemon could reach a stub such as 127.0.0.53, but
// it answers for the host, not for its containers, and forwarding to it
// from every network would loop a misconfigured host's queries back. No
// file is no upstream, not an error.
func HostUpstreams(path string) ([]netip.AddrPort, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the host's resolvers: %w", err)
	}
	var out []netip.AddrPort
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		// A zone (fe80::1%eth0) cannot be reached from a bridge either.
		if a, err := netip.ParseAddr(f[1]); err == nil && !a.IsLoopback() && a.Zone() == "" {
			out = append(out, netip.AddrPortFrom(a.Unmap(), 53))
		}
	}
	return out, nil
}
