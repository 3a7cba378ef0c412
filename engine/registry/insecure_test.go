package registry

import (
	"net/http"
	"strings"
	"testing"
)

func TestInsecureHosts(t *testing.T) {
	allowed := insecureHosts([]string{"registry.lan:5000", "plain.example", "10.1.0.0/16"})
	for host, want := range map[string]bool{
		"127.0.0.1:5000":    true,
		"127.8.9.10":        true,
		"[::1]:5000":        true,
		"localhost:5000":    true,
		"registry.lan:5000": true,
		"registry.lan:5001": false,
		"plain.example:443": true,
		"10.1.2.3:5000":     true,
		"10.2.0.1:5000":     false, // private, yet not listed: HTTPS only
		"192.168.1.1":       false,
		"docker.io":         false,
	} {
		if got := allowed(host); got != want {
			t.Errorf("insecure(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestHTTPSOnlyRefusesPlainHTTP(t *testing.T) {
	rt := httpsOnly{next: http.DefaultTransport, insecure: insecureHosts(nil)}
	req, _ := http.NewRequest(http.MethodGet, "http://10.2.0.1:5000/v2/", nil)
	_, err := rt.RoundTrip(req)
	if err == nil || !strings.Contains(err.Error(), "not an insecure registry") {
		t.Fatalf("plain HTTP to a private address: %v, want it refused", err)
	}
}
