package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/engine/auth"
	"github.com/skiff-dev/skiff/server/wire"
)

// fakeClock is the daemon's clock in these tests: it moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// startClockedDaemon is a daemon whose sessions and login limits follow
// the returned clock.
func startClockedDaemon(t *testing.T) (*daemon, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	return startDaemonConfig(t, t.TempDir(), Config{Now: clock.Now}), clock
}

// send makes a request with a body and returns the answer and its body.
func send(t *testing.T, c *http.Client, method, url, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

func loginBody(t *testing.T, creds wire.Login) string {
	t.Helper()
	b, err := json.Marshal(creds)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// login logs in over TCP and returns the session cookie.
func (d *daemon) login(t *testing.T, creds wire.Login) *http.Cookie {
	t.Helper()
	resp, body := send(t, http.DefaultClient, http.MethodPost, "http://"+d.tcp+"/skiff/login", loginBody(t, creds), jsonHeader)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	return sessionCookieOf(t, resp)
}

func sessionCookieOf(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie set (Set-Cookie: %q)", sessionCookie, resp.Header.Values("Set-Cookie"))
	return nil
}

// withCookie is header plus the session cookie.
func withCookie(cookie *http.Cookie, header http.Header) http.Header {
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Cookie", cookie.Name+"="+cookie.Value)
	return h
}

// csrfToken asks GET /skiff/session for the session's CSRF token.
func (d *daemon) csrfToken(t *testing.T, cookie *http.Cookie) string {
	t.Helper()
	resp, body := send(t, http.DefaultClient, http.MethodGet, "http://"+d.tcp+"/skiff/session", "", withCookie(cookie, nil))
	var sess wire.Session
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &sess) != nil || sess.CSRFToken == "" {
		t.Fatalf("GET /skiff/session: %d %s", resp.StatusCode, body)
	}
	return sess.CSRFToken
}

// setPassword sets the admin password over the unix socket.
func (d *daemon) setPassword(t *testing.T, password string) {
	t.Helper()
	body := `{"password":` + jsonString(password) + `}`
	if resp, out := send(t, d.unixHTTP(), http.MethodPost, "http://skiff/skiff/passwd", body, jsonHeader); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /skiff/passwd: %d %s", resp.StatusCode, out)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestLogin(t *testing.T) {
	d, clock := startClockedDaemon(t)
	d.setPassword(t, "correct horse")
	base := "http://" + d.tcp
	tests := []struct {
		name   string
		url    string
		body   string
		header http.Header
		status int
		// message is in the answer of a refused login.
		message string
	}{
		{"token", "/skiff/login", loginBody(t, wire.Login{Token: d.token}), jsonHeader, 204, ""},
		{"password", "/skiff/login", loginBody(t, wire.Login{Password: "correct horse"}), jsonHeader, 204, ""},
		{"content type with parameters", "/skiff/login", loginBody(t, wire.Login{Token: d.token}), http.Header{"Content-Type": {"application/json; charset=utf-8"}}, 204, ""},
		{"wrong token", "/skiff/login", loginBody(t, wire.Login{Token: "skiff_wrong"}), jsonHeader, 401, `{"message":"wrong token or password"}`},
		{"wrong password", "/skiff/login", loginBody(t, wire.Login{Password: "correct horsE"}), jsonHeader, 401, `{"message":"wrong token or password"}`},
		{"both", "/skiff/login", loginBody(t, wire.Login{Token: d.token, Password: "correct horse"}), jsonHeader, 400, "send either"},
		{"neither", "/skiff/login", `{}`, jsonHeader, 400, "send either"},
		{"not JSON", "/skiff/login", `token=x`, jsonHeader, 400, "malformed JSON"},
		{"a form, as another site could post", "/skiff/login", "token=" + d.token, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, 415, "application/json"},
		{"token in the URL", "/skiff/login?token=" + d.token, `{}`, jsonHeader, 400, "not accepted in the URL"},
		{"from another site", "/skiff/login", loginBody(t, wire.Login{Token: d.token}), http.Header{"Content-Type": {"application/json"}, "Origin": {"http://evil.example"}}, 403, "cross-origin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.advance(maxLoginBackoff) // each case starts with a clean slate
			resp, body := send(t, http.DefaultClient, http.MethodPost, base+tc.url, tc.body, tc.header)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.message) {
				t.Fatalf("%d %s; want %d with %q", resp.StatusCode, body, tc.status, tc.message)
			}
			if tc.status != http.StatusNoContent {
				if len(resp.Cookies()) != 0 {
					t.Errorf("a refused login set %q", resp.Header.Values("Set-Cookie"))
				}
				return
			}
			c := sessionCookieOf(t, resp)
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure || c.MaxAge != 0 || !c.Expires.IsZero() {
				t.Errorf("cookie %q: want HttpOnly, SameSite=Strict, Path=/, no Secure over plain HTTP, no expiry", resp.Header.Get("Set-Cookie"))
			}
			if len(c.Value) < 43 || strings.Contains(c.Value, d.token) {
				t.Errorf("cookie value %q: want a fresh 32-byte secret", c.Value)
			}
		})
	}
}

func TestSessionCookieAuthenticatesUntilLogout(t *testing.T) {
	d, clock := startClockedDaemon(t)
	base := "http://" + d.tcp
	cookie := d.login(t, wire.Login{Token: d.token})
	if resp, body := get(t, http.DefaultClient, http.MethodGet, base+"/version", withCookie(cookie, nil)); resp.StatusCode != 200 {
		t.Fatalf("GET /version with the cookie: %d %s", resp.StatusCode, body)
	}

	resp, body := get(t, http.DefaultClient, http.MethodGet, base+"/skiff/session", withCookie(cookie, nil))
	var sess wire.Session
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &sess) != nil {
		t.Fatalf("GET /skiff/session: %d %s", resp.StatusCode, body)
	}
	if len(sess.CSRFToken) < 43 || !sess.ExpiresAt.Equal(clock.Now().Add(auth.SessionIdle)) {
		t.Errorf("session %s: want a CSRF token and expiry in %v", body, auth.SessionIdle)
	}
	if !strings.Contains(body, `"csrfToken":"`) || !strings.Contains(body, `"expiresAt":"2025-06-02T00:00:00Z"`) {
		t.Errorf("session answer %s: want csrfToken and expiresAt (RFC 3339)", body)
	}

	// Logging out is state-changing: it needs the CSRF token too.
	if resp, body := send(t, http.DefaultClient, http.MethodPost, base+"/skiff/logout", "", withCookie(cookie, nil)); resp.StatusCode != 403 {
		t.Errorf("logout without the CSRF token: %d %s; want 403", resp.StatusCode, body)
	}
	resp, body = send(t, http.DefaultClient, http.MethodPost, base+"/skiff/logout", "", withCookie(cookie, http.Header{"X-Csrf-Token": {sess.CSRFToken}}))
	if resp.StatusCode != 204 {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	if cleared := sessionCookieOf(t, resp); cleared.Value != "" || cleared.MaxAge >= 0 {
		t.Errorf("logout set %q; want the cookie cleared", resp.Header.Get("Set-Cookie"))
	}
	// The old cookie, replayed, is worth nothing.
	for _, path := range []string{"/version", "/skiff/session"} {
		if resp, body := get(t, http.DefaultClient, http.MethodGet, base+path, withCookie(cookie, nil)); resp.StatusCode != 401 {
			t.Errorf("GET %s after logout: %d %s; want 401", path, resp.StatusCode, body)
		}
	}
}

func TestSessionExpiresWhenIdle(t *testing.T) {
	d, clock := startClockedDaemon(t)
	base := "http://" + d.tcp
	cookie := d.login(t, wire.Login{Token: d.token})
	clock.advance(auth.SessionIdle - time.Minute)
	if resp, _ := get(t, http.DefaultClient, http.MethodGet, base+"/version", withCookie(cookie, nil)); resp.StatusCode != 200 {
		t.Fatalf("within the idle timeout: %d", resp.StatusCode)
	}
	clock.advance(auth.SessionIdle - time.Minute) // kept alive by the use above
	if resp, _ := get(t, http.DefaultClient, http.MethodGet, base+"/version", withCookie(cookie, nil)); resp.StatusCode != 200 {
		t.Fatalf("after a use renewed it: %d", resp.StatusCode)
	}
	clock.advance(auth.SessionIdle)
	resp, body := get(t, http.DefaultClient, http.MethodGet, base+"/version", withCookie(cookie, nil))
	if resp.StatusCode != 401 || !strings.Contains(body, "log in") {
		t.Fatalf("idle past the timeout: %d %s; want 401", resp.StatusCode, body)
	}
	if cleared := sessionCookieOf(t, resp); cleared.MaxAge >= 0 {
		t.Errorf("an expired session's cookie is not cleared: %q", resp.Header.Get("Set-Cookie"))
	}
}

func TestLoginRotatesTheSession(t *testing.T) {
	d, _ := startClockedDaemon(t)
	base := "http://" + d.tcp
	first := d.login(t, wire.Login{Token: d.token})
	resp, body := send(t, http.DefaultClient, http.MethodPost, base+"/skiff/login", loginBody(t, wire.Login{Token: d.token}), withCookie(first, jsonHeader))
	if resp.StatusCode != 204 {
		t.Fatalf("second login: %d %s", resp.StatusCode, body)
	}
	if second := sessionCookieOf(t, resp); second.Value == first.Value {
		t.Error("logging in again kept the session ID")
	}
	if resp, _ := get(t, http.DefaultClient, http.MethodGet, base+"/version", withCookie(first, nil)); resp.StatusCode != 401 {
		t.Errorf("the session before the login still works: %d", resp.StatusCode)
	}
}

// Without credentials, only what the login page needs answers over TCP.
func TestPublicRoutes(t *testing.T) {
	d := startDaemon(t)
	base := "http://" + d.tcp
	tests := []struct {
		method, path string
		status       int
		message      string
	}{
		{"GET", "/", 200, "<html"},
		{"GET", "/assets/nosuch.js", 404, "page not found"},
		{"GET", "/skiff/session", 401, `{"message":"not logged in"}`},
		{"POST", "/skiff/login", 415, "application/json"},

		{"GET", "/version", 401, "authentication required"},
		{"GET", "/_ping", 401, "authentication required"},
		{"GET", "/containers/json", 401, "authentication required"},
		{"POST", "/containers/create", 401, "authentication required"},
		{"GET", "/skiff/images/tree", 401, "authentication required"},
		{"GET", "/skiff/builds", 401, "authentication required"},
		{"POST", "/skiff/logout", 401, "authentication required"},
		{"POST", "/skiff/passwd", 401, "authentication required"},
		{"GET", "/v1.50/skiff/session", 401, "authentication required"},
		{"GET", "/assets/../version", 404, "page not found"}, // the assets' handler, which cleans it
		{"DELETE", "/", 401, "authentication required"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp, body := send(t, http.DefaultClient, tc.method, base+tc.path, "", nil)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.message) {
				t.Errorf("%d %q; want %d with %q", resp.StatusCode, body, tc.status, tc.message)
			}
		})
	}
}

// Only the unix socket may change the password; a change ends every
// session.
func TestPasswdOnlyOverTheUnixSocket(t *testing.T) {
	d, _ := startClockedDaemon(t)
	base := "http://" + d.tcp
	cookie := d.login(t, wire.Login{Token: d.token})
	csrf := d.csrfToken(t, cookie)
	body := `{"password":"stolen session"}`
	for name, header := range map[string]http.Header{
		"session":      withCookie(cookie, http.Header{"Content-Type": {"application/json"}, "X-Csrf-Token": {csrf}}),
		"access token": {"Content-Type": {"application/json"}, "Authorization": {"Bearer " + d.token}},
	} {
		resp, out := send(t, http.DefaultClient, http.MethodPost, base+"/skiff/passwd", body, header)
		if resp.StatusCode != 403 || !strings.Contains(out, "unix socket") {
			t.Errorf("over TCP with a %s: %d %s; want 403", name, resp.StatusCode, out)
		}
	}
	if resp, _ := send(t, http.DefaultClient, http.MethodPost, base+"/skiff/login", loginBody(t, wire.Login{Password: "stolen session"}), jsonHeader); resp.StatusCode != 401 {
		t.Fatalf("the password refused over TCP was set: login %d", resp.StatusCode)
	}

	if resp, out := send(t, d.unixHTTP(), http.MethodPost, "http://skiff/skiff/passwd", `{"password":"short"}`, jsonHeader); resp.StatusCode != 400 || !strings.Contains(out, "too short") {
		t.Errorf("a short password: %d %s; want 400", resp.StatusCode, out)
	}
	d.setPassword(t, "correct horse")
	if resp, _ := get(t, http.DefaultClient, http.MethodGet, base+"/version", withCookie(cookie, nil)); resp.StatusCode != 401 {
		t.Errorf("a session outlived the password change: %d", resp.StatusCode)
	}
	d.login(t, wire.Login{Password: "correct horse"})
}

// After freeLoginFailures wrong attempts, an address must wait, even with
// the right credentials, and headers cannot make it another address.
func TestFailedLoginsAreRateLimited(t *testing.T) {
	d, clock := startClockedDaemon(t)
	d.setPassword(t, "correct horse")
	url := "http://" + d.tcp + "/skiff/login"
	wrong, right := loginBody(t, wire.Login{Password: "wrong horse"}), loginBody(t, wire.Login{Password: "correct horse"})
	attempt := func(body string, header http.Header) (int, string) {
		t.Helper()
		if header == nil {
			header = jsonHeader
		}
		resp, out := send(t, http.DefaultClient, http.MethodPost, url, body, header)
		return resp.StatusCode, resp.Header.Get("Retry-After") + " " + out
	}
	for i := range freeLoginFailures {
		if status, out := attempt(wrong, nil); status != 401 {
			t.Fatalf("wrong attempt %d: %d %s; want 401", i+1, status, out)
		}
	}
	spoofed := http.Header{"Content-Type": {"application/json"}, "X-Forwarded-For": {"203.0.113.9"}, "X-Real-Ip": {"203.0.113.9"}}
	for _, tc := range []struct {
		name   string
		body   string
		header http.Header
	}{
		{"the right password", right, nil},
		{"the token", loginBody(t, wire.Login{Token: d.token}), nil},
		{"another address in headers", right, spoofed},
	} {
		status, out := attempt(tc.body, tc.header)
		if status != 429 || !strings.HasPrefix(out, "30 ") || !strings.Contains(out, "too many failed logins") {
			t.Errorf("6th attempt, with %s: %d %q; want 429 with Retry-After: 30", tc.name, status, out)
		}
	}
	clock.advance(loginBackoff - time.Second)
	if status, out := attempt(right, nil); status != 429 || !strings.HasPrefix(out, "1 ") {
		t.Errorf("a second before the window passes: %d %q; want 429 with Retry-After: 1", status, out)
	}
	clock.advance(time.Second)
	if status, out := attempt(right, nil); status != 204 {
		t.Fatalf("once the window passed: %d %s; want 204", status, out)
	}
	// The success forgot the failures.
	if status, out := attempt(wrong, nil); status != 401 {
		t.Errorf("a wrong attempt after a success: %d %s; want 401", status, out)
	}
}

func TestLoginBackoff(t *testing.T) {
	start := time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		failures int           // at start
		at       time.Duration // after start
		wait     time.Duration
	}{
		{"no failures", 0, 0, 0},
		{"free failures", freeLoginFailures - 1, 0, 0},
		{"after the free ones", freeLoginFailures, 0, loginBackoff},
		{"half way", freeLoginFailures, loginBackoff / 2, loginBackoff / 2},
		{"window passed", freeLoginFailures, loginBackoff, 0},
		{"doubling", freeLoginFailures + 1, 0, 2 * loginBackoff},
		{"doubling again", freeLoginFailures + 2, 0, 4 * loginBackoff},
		{"capped", freeLoginFailures + 10, 0, maxLoginBackoff},
		{"capped without overflow", freeLoginFailures + 100, 0, maxLoginBackoff},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLoginLimiter()
			if tc.failures > 0 {
				l.failures["192.0.2.1"] = &loginFailures{count: tc.failures, last: start}
			}
			if got := l.attempt("192.0.2.1", start.Add(tc.at)); got != tc.wait {
				t.Errorf("wait %v; want %v", got, tc.wait)
			}
			if got := l.attempt("192.0.2.2", start); got != 0 {
				t.Errorf("another address waits %v", got)
			}
		})
	}
}

func TestLoginLimiterStaysBounded(t *testing.T) {
	l := newLoginLimiter()
	now := time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)
	for range freeLoginFailures {
		l.attempt("192.0.2.1", now) // made to wait: kept
	}
	for i := range maxLoginAddrs + 10 {
		l.attempt(fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), now)
	}
	if n := len(l.failures); n > maxLoginAddrs {
		t.Errorf("%d addresses tracked; want at most %d", n, maxLoginAddrs)
	}
	if l.attempt("192.0.2.1", now) == 0 {
		t.Error("the pruning forgot an address that must wait")
	}
}

func TestClientAddr(t *testing.T) {
	tests := []struct {
		remote string
		header http.Header
		want   string
	}{
		{"192.0.2.7:4711", nil, "192.0.2.7"},
		{"192.0.2.7:4711", http.Header{"X-Forwarded-For": {"203.0.113.9"}}, "192.0.2.7"},
		{"[::ffff:192.0.2.7]:4711", nil, "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:4711", nil, "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:4711", nil, "2001:db8:1:2::/64"},
		{"[::1]:4711", nil, "::/64"},
		{"@", nil, "@"},
	}
	for _, tc := range tests {
		req := &http.Request{RemoteAddr: tc.remote, Header: tc.header}
		if got := clientAddr(req); got != tc.want {
			t.Errorf("clientAddr(%s) = %q; want %q", tc.remote, got, tc.want)
		}
	}
}
