package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/internal/testcert"
)

const loginHint = " — log in with the access token (printed once, at the first start) or the password set with skiff passwd"

// post sends a JSON or tar body and returns the answer and its body.
func post(t *testing.T, c *http.Client, url, contentType string, body []byte, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

// The daemon prints where the dashboard is; skiff passwd sets the password
// over the unix socket only, and the dashboard logs in with it.
func TestDashboardURLAndPasswordLogin(t *testing.T) {
	d := startSkiffd(t, "")
	if want := "dashboard: http://" + d.tcp + "/" + loginHint; !strings.Contains(d.log.String(), want) {
		t.Fatalf("the log lacks %q:\n%s", want, d.log)
	}
	tcp := []string{"SKIFF_TEST_MAIN=1", "SKIFF_HOST=tcp://" + d.tcp, "SKIFF_TOKEN=" + d.token}
	if r := run(t, tcp, []byte("correct horse\n"), os.Args[0], "passwd"); r.code != 1 || !strings.Contains(r.stderr, "only be changed over the daemon's unix socket") {
		t.Errorf("skiff passwd over TCP: exit %d, %q", r.code, r.stderr)
	}
	unix := []string{"SKIFF_TEST_MAIN=1", "SKIFF_HOST=unix://" + d.socket}
	if r := run(t, unix, []byte("correct horse\n"), os.Args[0], "passwd"); r.code != 0 || !strings.HasPrefix(r.stdout, "Password changed.") {
		t.Fatalf("skiff passwd: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	resp, body := post(t, http.DefaultClient, "http://"+d.tcp+"/skiff/login", "application/json", []byte(`{"password":"correct horse"}`), nil)
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Header.Get("Set-Cookie"), "skiff_session=") {
		t.Fatalf("login with the password: %d %s", resp.StatusCode, body)
	}
}

// skiff serve --tls-cert --tls-key serves the TCP listener over HTTPS, and
// --max-upload caps what it accepts.
func TestServeTLSAndUploadCap(t *testing.T) {
	certFile, keyFile, pool := testcert.Write(t)
	d := startSkiffd(t, "", "--tls-cert", certFile, "--tls-key", keyFile, "--max-upload", "1k")
	if want := "dashboard: https://" + d.tcp + "/" + loginHint; !strings.Contains(d.log.String(), want) {
		t.Fatalf("the log lacks %q:\n%s", want, d.log)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + d.tcp
	resp, body := post(t, c, base+"/skiff/login", "application/json", []byte(`{"token":"`+d.token+`"}`), nil)
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Header.Get("Set-Cookie"), "; Secure") {
		t.Fatalf("login over TLS: %d %s, Set-Cookie %q", resp.StatusCode, body, resp.Header.Get("Set-Cookie"))
	}
	resp, body = post(t, c, base+"/images/load", "application/x-tar", make([]byte, 4096), http.Header{"Authorization": {"Bearer " + d.token}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "upload is larger than the limit of 1KiB") {
		t.Errorf("a 4 KiB upload: %d %s; want 413", resp.StatusCode, body)
	}
}

func TestServeRefusesBadSecurityFlags(t *testing.T) {
	certFile, _, _ := testcert.Write(t)
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--max-upload", "lots"}, `--max-upload "lots": not a size`},
		{[]string{"--tls-cert", certFile}, "TLS needs both a certificate and a key"},
	} {
		args := append([]string{"serve", "--data-root", t.TempDir(), "--socket", "", "--listen", "127.0.0.1:0"}, tc.flags...)
		if r := run(t, []string{"SKIFF_TEST_MAIN=1"}, nil, os.Args[0], args...); r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("serve %v: exit %d, %q; want %q", tc.flags, r.code, r.stderr, tc.want)
		}
	}
}
