package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/server/wire"
)

// A state-changing request made with the session cookie must carry the
// session's CSRF token and come from the daemon's own origin.
func TestCSRF(t *testing.T) {
	d, _ := startClockedDaemon(t)
	base := "http://" + d.tcp
	cookie := d.login(t, wire.Login{Token: d.token})
	csrf := d.csrfToken(t, cookie)
	bearer := "Bearer " + d.token
	tests := []struct {
		name   string
		header http.Header
		status int
	}{
		{"cookie only", withCookie(cookie, nil), 403},
		{"wrong token", withCookie(cookie, http.Header{"X-Csrf-Token": {"x" + csrf}}), 403},
		{"the token of another header", withCookie(cookie, http.Header{"X-Xsrf-Token": {csrf}}), 403},
		{"foreign origin", withCookie(cookie, http.Header{"X-Csrf-Token": {csrf}, "Origin": {"http://evil.example"}}), 403},
		{"null origin", withCookie(cookie, http.Header{"X-Csrf-Token": {csrf}, "Origin": {"null"}}), 403},
		{"same host, other port", withCookie(cookie, http.Header{"X-Csrf-Token": {csrf}, "Origin": {"http://127.0.0.1:1"}}), 403},
		{"https for http", withCookie(cookie, http.Header{"X-Csrf-Token": {csrf}, "Origin": {"https://" + d.tcp}}), 403},
		{"cross-site fetch", withCookie(cookie, http.Header{"X-Csrf-Token": {csrf}, "Sec-Fetch-Site": {"cross-site"}}), 403},
		{"same-site fetch", withCookie(cookie, http.Header{"X-Csrf-Token": {csrf}, "Sec-Fetch-Site": {"same-site"}}), 403},
		{"with the token", withCookie(cookie, http.Header{"X-Csrf-Token": {csrf}}), 200},
		{"with the token, from the dashboard", withCookie(cookie, http.Header{"X-Csrf-Token": {csrf}, "Origin": {base}, "Sec-Fetch-Site": {"same-origin"}}), 200},
		{"bearer token: no ambient credential", http.Header{"Authorization": {bearer}}, 200},
		{"bearer token, any origin", http.Header{"Authorization": {bearer}, "Origin": {"http://evil.example"}}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := send(t, http.DefaultClient, http.MethodPost, base+"/build/prune", "", tc.header)
			if resp.StatusCode != tc.status {
				t.Errorf("POST /build/prune: %d %s; want %d", resp.StatusCode, body, tc.status)
			}
		})
	}
	// Reads need no token: SameSite=Strict keeps the cookie off other sites' requests.
	if resp, body := get(t, http.DefaultClient, http.MethodGet, base+"/containers/json", withCookie(cookie, nil)); resp.StatusCode != 200 {
		t.Errorf("GET with the cookie only: %d %s", resp.StatusCode, body)
	}
}

// echoWebsocket adds a websocket route, as the terminal's and the build
// logs' are, that answers its first message back: reaching it means the
// upgrade got through.
func (d *daemon) echoWebsocket(path string) {
	upgrader := websocket.Upgrader{} // gorilla's own Origin check, as a handler written carelessly would have
	d.srv.echo.GET(path, func(c echo.Context) error {
		conn, err := upgrader.Upgrade(c.Response(), c.Request(), nil)
		if err != nil {
			return nil
		}
		defer conn.Close()
		kind, msg, err := conn.ReadMessage()
		if err == nil {
			conn.WriteMessage(kind, msg)
		}
		return nil
	})
}

// dialWebsocket opens a websocket with header and, once open, checks that
// it answers.
func dialWebsocket(t *testing.T, url string, header http.Header) int {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", url, err)
		}
		return resp.StatusCode
	}
	defer conn.Close()
	if err := conn.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != "hi" {
		t.Fatalf("websocket echo: %q, %v", msg, err)
	}
	return resp.StatusCode
}

// Cross-site websocket hijacking: a page on another origin, in a browser
// that holds the session cookie, must not open a websocket (a terminal, a
// build log) on the daemon. Every upgrade over TCP is checked before any
// handler runs.
func TestWebsocketUpgradesCheckOriginAndCredentials(t *testing.T) {
	d, _ := startClockedDaemon(t)
	d.echoWebsocket("/skiff/containers/:id/attach/ws")
	own := "http://" + d.tcp
	url := "ws://" + d.tcp + "/skiff/containers/abc/attach/ws"
	cookie := d.login(t, wire.Login{Token: d.token})
	bearer := "Bearer " + d.token
	tests := []struct {
		name   string
		header http.Header
		status int
	}{
		{"hijacking: cookie, foreign origin", withCookie(cookie, http.Header{"Origin": {"http://evil.example"}}), 403},
		{"cookie, null origin", withCookie(cookie, http.Header{"Origin": {"null"}}), 403},
		{"cookie, no origin", withCookie(cookie, nil), 403},
		{"cookie, https for http", withCookie(cookie, http.Header{"Origin": {"https://" + d.tcp}}), 403},
		{"cookie, other port", withCookie(cookie, http.Header{"Origin": {"http://127.0.0.1:1"}}), 403},
		{"cookie, own host as a subdomain", withCookie(cookie, http.Header{"Origin": {own + ".evil.example"}}), 403},
		{"no credentials, own origin", http.Header{"Origin": {own}}, 401},
		{"token in the query string", http.Header{"Origin": {own}}, 401},
		{"bearer, foreign origin", http.Header{"Authorization": {bearer}, "Origin": {"http://evil.example"}}, 403},
		{"cookie, own origin", withCookie(cookie, http.Header{"Origin": {own}}), 101},
		{"bearer, no origin (not a browser)", http.Header{"Authorization": {bearer}}, 101},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := url
			if strings.Contains(tc.name, "query") {
				u += "?token=" + d.token
			}
			if got := dialWebsocket(t, u, tc.header); got != tc.status {
				t.Errorf("status %d; want %d", got, tc.status)
			}
		})
	}
}

// The routes of the build logs get the same checks without doing anything
// for it: a foreign origin is refused before the handler looks for the
// build.
func TestBuildLogsWebsocketIsCheckedToo(t *testing.T) {
	d, _ := startClockedDaemon(t)
	cookie := d.login(t, wire.Login{Token: d.token})
	url := "ws://" + d.tcp + "/skiff/builds/nosuch/logs"
	if got := dialWebsocket(t, url, withCookie(cookie, http.Header{"Origin": {"http://evil.example"}})); got != 403 {
		t.Errorf("foreign origin: %d; want 403", got)
	}
	if got := dialWebsocket(t, url, withCookie(cookie, http.Header{"Origin": {"http://" + d.tcp}})); got != 404 {
		t.Errorf("own origin: %d; want the handler's 404 for an unknown build", got)
	}
}

// sessionWebsocket adds a websocket route that echoes messages until its
// request's context ends, then closes with "ended".
func (d *daemon) sessionWebsocket(path string) {
	upgrader := websocket.Upgrader{}
	d.srv.echo.GET(path, func(c echo.Context) error {
		conn, err := upgrader.Upgrade(c.Response(), c.Request(), nil)
		if err != nil {
			return nil
		}
		defer conn.Close()
		go func() {
			for {
				kind, msg, err := conn.ReadMessage()
				if err != nil || conn.WriteMessage(kind, msg) != nil {
					return
				}
			}
		}()
		<-c.Request().Context().Done()
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "ended"), time.Now().Add(time.Second))
		return nil
	})
}

// Ending a session ends the websockets it opened: a terminal does not
// outlive its login.
func TestEndingASessionClosesItsWebsockets(t *testing.T) {
	d, _ := startClockedDaemon(t)
	d.sessionWebsocket("/skiff/test/ws")
	own := "http://" + d.tcp
	open := func(cookie *http.Cookie) *websocket.Conn {
		t.Helper()
		conn, _, err := websocket.DefaultDialer.Dial("ws://"+d.tcp+"/skiff/test/ws", withCookie(cookie, http.Header{"Origin": {own}}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	expectOpen := func(name string, conn *websocket.Conn) {
		t.Helper()
		if err := conn.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != "hi" {
			t.Fatalf("%s: %q, %v; want it open", name, msg, err)
		}
	}
	expectClosed := func(name string, conn *websocket.Conn) {
		t.Helper()
		_, _, err := conn.ReadMessage()
		if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
			t.Errorf("%s: %v; want it closed", name, err)
		}
	}

	first, second := d.login(t, wire.Login{Token: d.token}), d.login(t, wire.Login{Token: d.token})
	a, b := open(first), open(second)
	expectOpen("first session's socket", a)
	resp, body := send(t, http.DefaultClient, http.MethodPost, own+"/skiff/logout", "", withCookie(first, http.Header{"X-Csrf-Token": {d.csrfToken(t, first)}}))
	if resp.StatusCode != 204 {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	expectClosed("the socket of the session logged out", a)
	expectOpen("another session's socket", b)

	d.setPassword(t, "correct horse")
	expectClosed("a socket after the password changed", b)
}
