package registry

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"github.com/google/go-containerregistry/pkg/name"
)

// insecureHosts returns whether a registry host ("host" or "host:port") may
// be reached over plain HTTP: a loopback one, as Docker allows, or one the
// list names by host, host:port or CIDR.
func insecureHosts(list []string) func(hostport string) bool {
	return func(hostport string) bool {
		host := hostport
		if h, _, err := net.SplitHostPort(hostport); err == nil {
			host = h
		}
		addr, addrErr := netip.ParseAddr(host)
		if host == "localhost" || (addrErr == nil && addr.IsLoopback()) {
			return true
		}
		for _, entry := range list {
			if entry == hostport || entry == host {
				return true
			}
			if prefix, err := netip.ParsePrefix(entry); err == nil && addrErr == nil && prefix.Contains(addr) {
				return true
			}
		}
		return false
	}
}

// nameOptions are go-containerregistry's naming options for a registry
// host: plain HTTP where allowed says so.
func nameOptions(allowed func(hostport string) bool, host string) []name.Option {
	if allowed(host) {
		return []name.Option{name.Insecure}
	}
	return nil
}

// httpsOnly refuses plain HTTP requests to hosts not allowed it. The library
// falls back to HTTP on its own for private addresses, which Docker does not;
// this keeps skiff to Docker's rule for every request, token realms included.
type httpsOnly struct {
	next     http.RoundTripper
	insecure func(hostport string) bool
}

func (t httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !t.insecure(req.URL.Host) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("refusing plain HTTP to %s: not an insecure registry", req.URL.Host)
	}
	return t.next.RoundTrip(req)
}
