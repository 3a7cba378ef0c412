package server

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/skiff-dev/skiff/internal/testcert"
	"github.com/skiff-dev/skiff/server/wire"
)

func TestTLSListener(t *testing.T) {
	certFile, keyFile, pool := testcert.Write(t)
	d := startDaemonConfig(t, t.TempDir(), Config{TLSCert: certFile, TLSKey: keyFile})
	tlsConfig := &tls.Config{RootCAs: pool}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	base := "https://" + d.tcp

	if got := d.srv.DashboardURL(); got != base+"/" {
		t.Errorf("DashboardURL = %q; want %q", got, base+"/")
	}
	resp, body := send(t, c, http.MethodPost, base+"/skiff/login", loginBody(t, wire.Login{Token: d.token}), jsonHeader)
	if resp.StatusCode != 204 {
		t.Fatalf("login over TLS: %d %s", resp.StatusCode, body)
	}
	if resp.Proto != "HTTP/1.1" {
		t.Errorf("protocol %s; want HTTP/1.1 (websockets and hijacked streams need it)", resp.Proto)
	}
	cookie := sessionCookieOf(t, resp)
	if !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie %q: want Secure, HttpOnly, SameSite=Strict", resp.Header.Get("Set-Cookie"))
	}
	if resp, body := get(t, c, http.MethodGet, base+"/version", withCookie(cookie, nil)); resp.StatusCode != 200 {
		t.Errorf("GET /version with the cookie: %d %s", resp.StatusCode, body)
	}

	// The page's own origin is https://: http:// is another origin.
	d.echoWebsocket("/skiff/test/ws")
	dialer := &websocket.Dialer{TLSClientConfig: tlsConfig}
	for origin, want := range map[string]int{base: 101, "http://" + d.tcp: 403} {
		conn, resp, err := dialer.Dial("wss://"+d.tcp+"/skiff/test/ws", withCookie(cookie, http.Header{"Origin": {origin}}))
		if resp == nil {
			t.Fatalf("dial with origin %s: %v", origin, err)
		}
		if resp.StatusCode != want {
			t.Errorf("websocket with origin %s: %d; want %d", origin, resp.StatusCode, want)
		}
		if conn != nil {
			conn.Close()
		}
	}

	// Plain HTTP gets nothing.
	if resp, body := get(t, http.DefaultClient, http.MethodGet, "http://"+d.tcp+"/", nil); resp.StatusCode != 400 || !strings.Contains(body, "HTTPS") {
		t.Errorf("plain HTTP to the TLS listener: %d %q", resp.StatusCode, body)
	}
	// The unix socket stays plain HTTP.
	if resp, _ := get(t, d.unixHTTP(), http.MethodGet, "http://skiff/version", nil); resp.StatusCode != 200 {
		t.Errorf("unix socket: %d", resp.StatusCode)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	certFile, keyFile, _ := testcert.Write(t)
	tests := []struct {
		name, cert, key, want string
	}{
		{"no key", certFile, "", "both a certificate and a key"},
		{"no certificate", "", keyFile, "both a certificate and a key"},
		{"key for cert", keyFile, certFile, "load the TLS certificate"},
		{"missing file", certFile + ".nosuch", keyFile, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := &Server{cfg: Config{Listen: "127.0.0.1:0", TLSCert: tc.cert, TLSKey: tc.key}}
			l, err := srv.listenTCP()
			if err == nil {
				l.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("listenTCP: %v; want an error with %q", err, tc.want)
			}
		})
	}
}
