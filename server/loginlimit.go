package server

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Failed logins are limited per client address: the first
// freeLoginFailures are free; after them, each attempt, right or wrong,
// must wait loginBackoff after the last failure, doubling with each further
// failure up to maxLoginBackoff. A success forgets the address, and so does
// a day without failures.
const (
	freeLoginFailures   = 5
	loginBackoff        = 30 * time.Second
	maxLoginBackoff     = time.Hour
	forgetFailuresAfter = 24 * time.Hour
	// maxLoginAddrs bounds the table, against an attacker with many
	// addresses.
	maxLoginAddrs = 10000
)

type loginFailures struct {
	count int
	last  time.Time
}

// loginLimiter counts failed logins per client address.
type loginLimiter struct {
	mu       sync.Mutex
	failures map[string]*loginFailures
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{failures: map[string]*loginFailures{}}
}

// attempt asks for a login attempt from addr at now. It returns how long
// addr must wait first, or 0 after counting the attempt as a failure until
// it succeeds: parallel attempts cannot all slip in before the first fails.
func (l *loginLimiter) attempt(addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.failures[addr]
	if f != nil && f.count >= freeLoginFailures {
		backoff := maxLoginBackoff
		if shift := f.count - freeLoginFailures; shift < 16 {
			backoff = min(loginBackoff<<shift, maxLoginBackoff)
		}
		if wait := f.last.Add(backoff).Sub(now); wait > 0 {
			return wait
		}
	}
	if f == nil {
		if len(l.failures) >= maxLoginAddrs {
			l.prune(now)
		}
		f = &loginFailures{}
		l.failures[addr] = f
	}
	f.count++
	f.last = now
	return 0
}

// succeeded forgets addr's failures, this attempt's included.
func (l *loginLimiter) succeeded(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, addr)
}

// prune forgets the addresses quiet for a day and, if the table is still
// full, those not yet made to wait: the ones that are keep their penalty.
func (l *loginLimiter) prune(now time.Time) {
	for addr, f := range l.failures {
		if now.Sub(f.last) >= forgetFailuresAfter {
			delete(l.failures, addr)
		}
	}
	for addr, f := range l.failures {
		if len(l.failures) < maxLoginAddrs {
			return
		}
		if f.count < freeLoginFailures {
			delete(l.failures, addr)
		}
	}
}

// clientAddr is the address failures are counted for: the connection's
// peer, never a header a client could set (X-Forwarded-For). An IPv6 client
// counts as its /64, since one host commonly holds a whole /64.
func clientAddr(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return req.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		prefix, _ := ip.Prefix(64)
		return prefix.String()
	}
	return ip.String()
}
