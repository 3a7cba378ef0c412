package server

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// onlyReader hides bytes.Reader's Len, so the client sends the body chunked,
// its size unknown until the end.
type onlyReader struct{ io.Reader }

func TestUploadsOverTCPAreCapped(t *testing.T) {
	const limit = 1024
	d := startDaemonConfig(t, t.TempDir(), Config{MaxUpload: limit})
	tooBig := make([]byte, 4*limit) // zeros: an empty tar, were it read whole
	const message = `{"message":"upload is larger than the limit of 1KiB (skiff serve --max-upload)"}`
	for _, path := range []string{"/build", "/skiff/builds", "/images/load", "/images/create?fromSrc=-&repo=big", "/v1.50/build"} {
		for _, chunked := range []bool{false, true} {
			name := path + " with Content-Length"
			var body io.Reader = bytes.NewReader(tooBig)
			if chunked {
				name, body = path+" chunked", onlyReader{body}
			}
			t.Run(name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodPost, "http://"+d.tcp+path, body)
				req.Header.Set("Authorization", "Bearer "+d.token)
				req.Header.Set("Content-Type", "application/x-tar")
				resp, out := sendRequest(t, http.DefaultClient, req)
				if resp.StatusCode != http.StatusRequestEntityTooLarge || strings.TrimSpace(out) != message {
					t.Errorf("%d %s; want 413 %s", resp.StatusCode, out, message)
				}
			})
		}
	}
	// Under the cap, the request goes through to its handler.
	req, _ := http.NewRequest(http.MethodPost, "http://"+d.tcp+"/images/load", onlyReader{bytes.NewReader(make([]byte, limit))})
	req.Header.Set("Authorization", "Bearer "+d.token)
	if resp, body := sendRequest(t, http.DefaultClient, req); resp.StatusCode == http.StatusRequestEntityTooLarge {
		t.Errorf("a body at the cap: %d %s", resp.StatusCode, body)
	}
	// The unix socket has no cap.
	req, _ = http.NewRequest(http.MethodPost, "http://skiff/images/load", onlyReader{bytes.NewReader(tooBig)})
	if resp, body := sendRequest(t, d.unixHTTP(), req); resp.StatusCode == http.StatusRequestEntityTooLarge {
		t.Errorf("unix socket: %d %s", resp.StatusCode, body)
	}
}

func sendRequest(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}
