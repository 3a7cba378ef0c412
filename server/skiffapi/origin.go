package skiffapi

import (
	"net/http"
	"strings"
)

// OwnOrigin is the origin a request was addressed to: the listener's scheme
// and the request's Host, port included, e.g. "https://127.0.0.1:7777".
func OwnOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// SameOrigin reports whether the request's Origin header is its own origin,
// exactly: scheme, host and port. A missing Origin is not the same origin.
func SameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	return origin != "" && strings.EqualFold(origin, OwnOrigin(r))
}

// sameOrigin, the websocket upgraders' CheckOrigin, accepts a request with
// no Origin header (not from a browser) or whose Origin is its own.
// Browsers let any page open a websocket to any host, with the cookies they
// hold for it; this keeps a page of another site from reading the daemon's
// answers. The server's authentication checks the same before any handler
// runs, and over TCP refuses a cookie-authenticated upgrade without Origin.
func sameOrigin(r *http.Request) bool {
	return r.Header.Get("Origin") == "" || SameOrigin(r)
}
