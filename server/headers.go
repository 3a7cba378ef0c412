package server

import (
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/server/skiffapi"
)

// contentSecurityPolicy lets the dashboard load only its own scripts,
// styles and connections, never from another site, never inline scripts,
// and never inside another site's frame. Inline styles stay allowed: the
// terminal sets them. connect-src names the websocket origin too, for
// browsers whose 'self' does not cover ws: and wss:.
func contentSecurityPolicy(wsOrigin string) string {
	return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' " + wsOrigin + "; worker-src 'self' blob:; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// securityHeaders sets, on every answer, the headers that keep a browser
// from running what the dashboard shows (container names, logs) as code,
// from guessing content types, and from framing the dashboard on another
// site (clickjacking).
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy(websocketOrigin(c)))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		return next(c)
	}
}

// websocketOrigin is the ws:// or wss:// twin of the request's own origin;
// "" for a Host that could not be a source in a policy.
func websocketOrigin(c echo.Context) string {
	if strings.ContainsAny(c.Request().Host, " ;,'") {
		return ""
	}
	return "ws" + strings.TrimPrefix(skiffapi.OwnOrigin(c.Request()), "http")
}
