package skiffapi

import (
	"net/http"
	"strings"
)

// sameOrigin accepts a request with no Origin header (not from a browser)
// or whose Origin is its own scheme://host. Browsers let any page open a
// websocket to any host, with the cookies they hold for it; this keeps a
// page of another site from reading the daemon's answers.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(origin, scheme+"://"+r.Host)
}
