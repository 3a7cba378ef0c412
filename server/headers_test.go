package server

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func TestSecurityHeaders(t *testing.T) {
	d := startDaemon(t)
	resp, _ := get(t, http.DefaultClient, http.MethodGet, "http://"+d.tcp+"/", nil)
	want := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q; want %q", k, got, v)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, directive := range []string{"script-src 'self';", "connect-src 'self' ws://" + d.tcp + ";", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, directive) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, directive)
		}
	}
}

// Every request reaches Config.OnRequest, over either listener, whether
// or not it is authenticated: the daemon's idle trim counts them.
func TestOnRequestSeesEachRequest(t *testing.T) {
	var n atomic.Int32
	d := startDaemonConfig(t, t.TempDir(), Config{OnRequest: func() { n.Add(1) }})
	get(t, d.unixHTTP(), http.MethodGet, "http://skiff/_ping", nil)
	get(t, http.DefaultClient, http.MethodGet, "http://"+d.tcp+"/", nil)
	get(t, http.DefaultClient, http.MethodGet, "http://"+d.tcp+"/v1.51/containers/json", nil)
	if got := n.Load(); got != 3 {
		t.Errorf("OnRequest called %d times for 3 requests", got)
	}
}
