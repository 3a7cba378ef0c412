package registry

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// ownHostsOnly is the innermost transport of a pull, push or login: it
// removes the Authorization header from every request that goes anywhere
// but the registry the account belongs to, or a host of the same
// registrable domain (registry-1.docker.io's token service is
// auth.docker.io). So neither a token realm on another host, nor a
// redirect to blob storage, nor a foreign layer's URL ever sees the
// account or a token made from it (CVE-2020-15157).
type ownHostsOnly struct {
	next     http.RoundTripper
	registry string // host[:port] the credentials are for
}

func (t ownHostsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" && !sameOwner(t.registry, req.URL.Host) {
		req = req.Clone(req.Context())
		req.Header.Del("Authorization")
	}
	return t.next.RoundTrip(req)
}

// sameOwner reports whether host (host[:port]) belongs to registry: the
// same host and port, or for DNS names, the same registrable domain. An
// IP address or a single-label name (localhost) owns only itself.
func sameOwner(registry, host string) bool {
	registry, host = strings.ToLower(registry), strings.ToLower(host)
	if registry == host {
		return true
	}
	a, b := hostname(registry), hostname(host)
	if !isDNSName(a) || !isDNSName(b) {
		return false
	}
	da, err := publicsuffix.EffectiveTLDPlusOne(a)
	if err != nil {
		return false
	}
	db, err := publicsuffix.EffectiveTLDPlusOne(b)
	return err == nil && da == db
}

func hostname(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

func isDNSName(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return false
	}
	return strings.Contains(strings.Trim(h, "."), ".")
}

// baseTransport is what carries a pull's, push's or login's requests to
// registry (host[:port] as go-containerregistry names it): next (the
// default transport when nil), with the account kept to its own hosts and
// plain HTTP to the hosts allowed it.
func baseTransport(next http.RoundTripper, insecure func(string) bool, registry string) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return httpsOnly{next: ownHostsOnly{next: next, registry: registry}, insecure: insecure}
}
