package registry

import (
	"net/http"
	"testing"
)

func TestSameOwner(t *testing.T) {
	for _, tc := range []struct {
		registry, host string
		want           bool
	}{
		{"127.0.0.1:5000", "127.0.0.1:5000", true},
		{"127.0.0.1:5000", "127.0.0.2:5000", false},
		{"127.0.0.1:5000", "127.0.0.1:5001", false}, // an address owns one port
		{"localhost:5000", "localhost:6000", false},
		{"index.docker.io", "auth.docker.io", true},
		{"registry-1.docker.io", "production.cloudflare.docker.com", false}, // the blob CDN is docker.com
		{"index.docker.io", "docker.io.evil.example", false},
		{"ghcr.io", "pkg-containers.githubusercontent.com", false},
		{"registry.example.com:443", "auth.example.com", true},
		{"foo.github.io", "bar.github.io", false}, // github.io is a public suffix
		{"myregistry:5000", "other:5000", false},
	} {
		if got := sameOwner(tc.registry, tc.host); got != tc.want {
			t.Errorf("sameOwner(%q, %q) = %v, want %v", tc.registry, tc.host, got, tc.want)
		}
	}
}

// headerRecorder answers every request and keeps its Authorization.
type headerRecorder struct{ got map[string]string }

func (r *headerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got[req.URL.Host] = req.Header.Get("Authorization")
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req}, nil
}

func TestOwnHostsOnlyStripsAuthorizationElsewhere(t *testing.T) {
	rec := &headerRecorder{got: map[string]string{}}
	guard := ownHostsOnly{next: rec, registry: "127.0.0.1:5000"}
	for _, u := range []string{"http://127.0.0.1:5000/v2/", "http://127.0.0.2:8443/token", "https://storage.example.com/blob"} {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Basic c2VjcmV0")
		if _, err := guard.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
		if req.Header.Get("Authorization") == "" {
			t.Errorf("the guard changed the caller's request to %s", u)
		}
	}
	want := map[string]string{"127.0.0.1:5000": "Basic c2VjcmV0", "127.0.0.2:8443": "", "storage.example.com": ""}
	for host, auth := range want {
		if rec.got[host] != auth {
			t.Errorf("request to %s carried Authorization %q, want %q", host, rec.got[host], auth)
		}
	}
}
