package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/skiff-dev/skiff/server/wire"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files,
// and returns them with a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "skiff test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLSListener(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
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
	certFile, keyFile, _ := selfSigned(t)
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
