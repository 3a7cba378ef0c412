package container

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	containertypes "github.com/moby/moby/api/types/container"
)

// hostResolvConf is the host's resolver configuration, which containers'
// /etc/resolv.conf is made from.
var hostResolvConf = "/etc/resolv.conf"

// hostsFile is a container's /etc/hosts as Docker writes it: loopback
// names, the --add-host entries, then the container's hostname at addr.
func hostsFile(c *Container, addr netip.Addr) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	for _, extra := range c.HostConfig.ExtraHosts {
		// host:ip, the address possibly IPv6 (colons), or host=ip.
		host, ip, ok := strings.Cut(extra, "=")
		if !ok {
			host, ip, ok = strings.Cut(extra, ":")
		}
		if ok {
			fmt.Fprintf(&b, "%s\t%s\n", strings.Trim(ip, "[]"), host)
		}
	}
	fmt.Fprintf(&b, "%s\t%s\n", addr, c.Config.Hostname)
	return b.Bytes()
}

// writeHosts rewrites the container's /etc/hosts for its address on the
// bridge. The file is bind-mounted at start, so it is replaced in place.
func (s *Service) writeHosts(c *Container, addr netip.Addr) error {
	path := filepath.Join(s.stateDir(c.ID), "hosts")
	if err := os.WriteFile(path, hostsFile(c, addr), 0o644); err != nil {
		return fmt.Errorf("write the hosts file of container %s: %w", shortID(c.ID), err)
	}
	return nil
}

// writeResolvConf rewrites the container's /etc/resolv.conf for a
// user-defined network whose DNS responder listens on gateway. The file is
// bind-mounted at start, so it is replaced in place.
func (s *Service) writeResolvConf(c *Container, gateway netip.Addr) error {
	b, err := resolvConf(c.HostConfig, gateway)
	if err == nil {
		err = os.WriteFile(filepath.Join(s.stateDir(c.ID), "resolv.conf"), b, 0o644)
	}
	if err != nil {
		return fmt.Errorf("write the resolv.conf of container %s: %w", shortID(c.ID), err)
	}
	return nil
}

// resolvConf is a container's /etc/resolv.conf: the host's, as is with
// --network host; otherwise without its loopback nameservers (a resolver
// on the host's 127.0.0.53 is out of a container's reach), with --dns,
// --dns-search and --dns-option replacing the host's. A valid responder
// (a user-defined network's, which forwards what it does not know to the
// host's resolvers) replaces the host's nameservers, unless --dns is
// given. When no nameserver is left, none is written: the container
// resolves nothing rather than asking a resolver skiff was not told about.
func resolvConf(hc *containertypes.HostConfig, responder netip.Addr) ([]byte, error) {
	host, err := os.ReadFile(hostResolvConf)
	if errors.Is(err, fs.ErrNotExist) {
		host = nil // no resolver configured on the host
	} else if err != nil {
		return nil, fmt.Errorf("read the host's resolver configuration: %w", err)
	}
	if hc.NetworkMode == "host" && len(hc.DNS) == 0 && len(hc.DNSSearch) == 0 && len(hc.DNSOptions) == 0 {
		return host, nil
	}
	var nameservers, search, options, rest []string
	sc := bufio.NewScanner(bytes.NewReader(host))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") || strings.HasPrefix(fields[0], ";") {
			continue
		}
		switch fields[0] {
		case "nameserver":
			if len(fields) > 1 {
				if a, err := netip.ParseAddr(fields[1]); err == nil && !a.IsLoopback() {
					nameservers = append(nameservers, a.String())
				}
			}
		case "search", "domain":
			search = fields[1:]
		case "options":
			options = append(options, fields[1:]...)
		default:
			rest = append(rest, sc.Text())
		}
	}
	switch {
	case len(hc.DNS) > 0:
		nameservers = nameservers[:0]
		for _, a := range hc.DNS {
			nameservers = append(nameservers, a.String())
		}
	case responder.IsValid():
		nameservers = []string{responder.String()}
	}
	if len(hc.DNSSearch) > 0 {
		search = hc.DNSSearch
	}
	if len(hc.DNSOptions) > 0 {
		options = hc.DNSOptions
	}
	var b bytes.Buffer
	for _, ns := range nameservers {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if len(search) > 0 && !(len(search) == 1 && search[0] == ".") {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	for _, l := range rest {
		b.WriteString(l + "\n")
	}
	return b.Bytes(), nil
}
