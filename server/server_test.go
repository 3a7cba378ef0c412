package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"
	_ "modernc.org/sqlite"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/testimage"
	"github.com/skiff-dev/skiff/server/wire"
)

// daemon is a real engine and server on a unix socket and a loopback port.
type daemon struct {
	eng    *engine.Engine
	srv    *Server
	socket string
	tcp    string
	token  string
}

func startDaemon(t *testing.T) *daemon {
	t.Helper()
	return startDaemonAt(t, t.TempDir())
}

// startDaemonAt serves the data root root until the test ends.
func startDaemonAt(t testing.TB, root string) *daemon {
	t.Helper()
	return startDaemonConfig(t, root, Config{})
}

// startDaemonConfig is startDaemonAt with cfg's TLS, upload cap and clock.
func startDaemonConfig(t testing.TB, root string, cfg Config) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	eng, err := engine.Open(ctx, engine.Config{DataRoot: root, Migrations: os.DirFS("../migrations"), SQLDriver: "sqlite"})
	if err != nil {
		t.Fatal(err)
	}
	token, err := eng.Tokens().EnsureInitial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(root, "skiff.sock")
	cfg.Socket, cfg.Listen, cfg.Version, cfg.Dashboard = socket, "127.0.0.1:0", "test", os.DirFS("../web/dist")
	srv := New(eng, cfg)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		eng.Close()
	})
	d := &daemon{eng: eng, srv: srv, socket: socket, token: token}
	for _, a := range srv.Addrs() {
		if a.Network() == "tcp" {
			d.tcp = a.String()
		}
	}
	return d
}

// unixHTTP is a plain HTTP client over the daemon's socket.
func (d *daemon) unixHTTP() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.socket)
	}}}
}

// docker is a moby client, as the docker CLI and skiff's CLI use, over the socket.
func (d *daemon) docker(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New(client.WithHost("unix://" + d.socket))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func get(t *testing.T, c *http.Client, method, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestPingCarriesTheNegotiationHeaders(t *testing.T) {
	d := startDaemon(t)
	c := d.unixHTTP()
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		resp, body := get(t, c, method, "http://skiff/_ping", nil)
		if resp.StatusCode != 200 || resp.Header.Get("Api-Version") != "1.50" || resp.Header.Get("Ostype") != "linux" {
			t.Errorf("%s /_ping: %d, headers %v", method, resp.StatusCode, resp.Header)
		}
		if want := map[string]string{http.MethodHead: "", http.MethodGet: "OK"}[method]; body != want {
			t.Errorf("%s /_ping body %q, want %q", method, body, want)
		}
	}
}

func TestVersionedPaths(t *testing.T) {
	d := startDaemon(t)
	c := d.unixHTTP()
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/version", 200, `"ApiVersion":"1.50"`},
		{"/v1.50/version", 200, `"MinAPIVersion":"1.24"`},
		{"/v1.24/images/json", 200, `[]`},
		{"/v1.51/version", 400, "client version 1.51 is too new. Maximum supported API version is 1.50"},
		{"/v1.12/version", 400, "client version 1.12 is too old. Minimum supported API version is 1.24"},
		{"/v1.50/no/such/route", 404, `{"message":"page not found"}`},
		{"/images/nosuch/json", 404, `{"message":"No such image: nosuch:latest"}`},
		{"/v1.50/containers/abc/json", 404, `No such container: abc`},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := get(t, c, http.MethodGet, "http://skiff"+tc.path, nil)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.body) {
				t.Errorf("GET %s = %d %q, want %d with %q", tc.path, resp.StatusCode, body, tc.status, tc.body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q, want exactly application/json", ct)
			}
		})
	}
}

// Over TCP every request needs the token in the Authorization header (or a
// session cookie, see auth_test.go), except the dashboard's page; a token
// anywhere else does not count.
func TestTCPRequiresTheToken(t *testing.T) {
	d := startDaemon(t)
	c := &http.Client{}
	base := "http://" + d.tcp
	tests := []struct {
		name   string
		url    string
		header http.Header
		status int
	}{
		{"no credentials", base + "/version", nil, 401},
		{"wrong token", base + "/version", http.Header{"Authorization": {"Bearer skiff_wrong"}}, 401},
		{"token in the query string", base + "/version?token=" + d.token, nil, 401},
		{"token as basic auth", base + "/version", http.Header{"Authorization": {"Basic " + d.token}}, 401},
		{"dashboard without token: its login page", base + "/", nil, 200},
		{"valid token", base + "/version", http.Header{"Authorization": {"Bearer " + d.token}}, 200},
		{"valid token, dashboard", base + "/", http.Header{"Authorization": {"Bearer " + d.token}}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, c, http.MethodGet, tc.url, tc.header)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d (%s), want %d", resp.StatusCode, body, tc.status)
			}
		})
	}
	// The unix socket needs none.
	if resp, _ := get(t, d.unixHTTP(), http.MethodGet, "http://skiff/version", nil); resp.StatusCode != 200 {
		t.Errorf("unix socket: %d", resp.StatusCode)
	}
}

func importBusybox(t *testing.T, c *client.Client, ref string) string {
	t.Helper()
	rc, err := c.ImageImport(context.Background(), client.ImageImportSource{Source: bytes.NewReader(testimage.Rootfs(t)), SourceName: "-"}, ref, client.ImageImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var last struct{ Status string }
	dec := json.NewDecoder(rc)
	for dec.Decode(&last) == nil {
	}
	if !strings.HasPrefix(last.Status, "sha256:") {
		t.Fatalf("import ended with %q", last.Status)
	}
	return last.Status
}

func TestImageLifecycleThroughTheDockerClient(t *testing.T) {
	d := startDaemon(t)
	c := d.docker(t)
	ctx := context.Background()
	id := importBusybox(t, c, "busybox:latest")

	list, err := c.ImageList(ctx, client.ImageListOptions{})
	if err != nil || len(list.Items) != 1 || list.Items[0].ID != id || list.Items[0].RepoTags[0] != "busybox:latest" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	// Names with a registry, a port and slashes travel in the path.
	if _, err := c.ImageTag(ctx, client.ImageTagOptions{Source: "busybox", Target: "registry.example:5000/team/app:v1"}); err != nil {
		t.Fatal(err)
	}
	insp, err := c.ImageInspect(ctx, "registry.example:5000/team/app:v1")
	if err != nil || insp.ID != id || len(insp.RepoTags) != 2 {
		t.Fatalf("inspect = %+v, %v", insp, err)
	}
	hist, err := c.ImageHistory(ctx, "busybox")
	if err != nil || len(hist.Items) != 1 || hist.Items[0].Comment != "Imported from -" {
		t.Fatalf("history = %+v, %v", hist, err)
	}

	// A child image makes the parent undeletable, with Docker's 409.
	child, err := d.eng.ImageCreateChild(ctx, engine.ImageChildOptions{Parent: mustDigest(id), CreatedBy: "step"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ImageRemove(ctx, id, client.ImageRemoveOptions{Force: true})
	if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "image has dependent child images") {
		t.Fatalf("rmi of a parent: %v", err)
	}
	if _, err := c.ImageRemove(ctx, child.String(), client.ImageRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := c.ImageRemove(ctx, "registry.example:5000/team/app:v1", client.ImageRemoveOptions{})
	if err != nil || len(res.Items) != 1 || res.Items[0].Untagged != "registry.example:5000/team/app:v1" {
		t.Fatalf("rmi of one of two tags = %+v, %v", res, err)
	}

	// Save, remove, load: the same image comes back.
	saved, err := c.ImageSave(ctx, []string{"busybox"})
	if err != nil {
		t.Fatal(err)
	}
	archive, _ := io.ReadAll(saved)
	saved.Close()
	if _, err := c.ImageRemove(ctx, "busybox", client.ImageRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	loaded, err := c.ImageLoad(ctx, bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(loaded)
	loaded.Close()
	if !strings.Contains(string(out), `Loaded image: busybox:latest`) {
		t.Errorf("load said %s", out)
	}
	if insp, err := c.ImageInspect(ctx, "busybox"); err != nil || insp.ID != id {
		t.Errorf("after load: %+v, %v", insp.ID, err)
	}
}

func TestSaveOfAnUnknownImageIsA404(t *testing.T) {
	d := startDaemon(t)
	resp, body := get(t, d.unixHTTP(), http.MethodGet, "http://skiff/images/get?names=nosuch", nil)
	if resp.StatusCode != 404 || !strings.Contains(body, "No such image: nosuch:latest") {
		t.Errorf("status %d %s", resp.StatusCode, body)
	}
}

func TestImportErrorsAreClear(t *testing.T) {
	d := startDaemon(t)
	c := d.unixHTTP()
	resp, err := c.Post("http://skiff/images/create?fromSrc=-&repo=bad", "application/x-tar", strings.NewReader("not a tarball at all"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "tar") {
		t.Errorf("import of garbage: %d %s", resp.StatusCode, body)
	}
	resp, _ = c.Post("http://skiff/images/create?fromSrc=-&repo=Bad:Name", "application/x-tar", bytes.NewReader(testimage.Rootfs(t)))
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "invalid reference format") {
		t.Errorf("import with a bad name: %d %s", resp.StatusCode, body)
	}
}

func TestImageTreeEndpoint(t *testing.T) {
	d := startDaemon(t)
	c := d.docker(t)
	ctx := context.Background()
	id := importBusybox(t, c, "busybox:latest")
	child, err := d.eng.ImageCreateChild(ctx, engine.ImageChildOptions{Parent: mustDigest(id), CreatedBy: "step",
		Tags: mustTags(t, "app:v1")})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, d.unixHTTP(), http.MethodGet, "http://skiff/skiff/images/tree", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %s", resp.StatusCode, body)
	}
	var roots []wire.ImageTreeNode
	if err := json.Unmarshal([]byte(body), &roots); err != nil {
		t.Fatal(err)
	}
	if len(roots) != 1 || roots[0].ID != id || len(roots[0].Children) != 1 || roots[0].Children[0].ID != child.String() ||
		roots[0].Children[0].RepoTags[0] != "app:v1" || roots[0].Children[0].ParentID != id {
		t.Errorf("tree = %s", body)
	}
}

func mustDigest(s string) digest.Digest { return digest.Digest(s) }

func mustTags(t *testing.T, refs ...string) []reference.NamedTagged {
	t.Helper()
	var out []reference.NamedTagged
	for _, r := range refs {
		tag, err := engine.ParseImageTag(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tag)
	}
	return out
}

func TestImportFromAURL(t *testing.T) {
	d := startDaemon(t)
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/rootfs.tar" {
			http.NotFound(w, r)
			return
		}
		w.Write(testimage.Rootfs(t))
	}))
	defer files.Close()
	c := d.unixHTTP()
	resp, err := c.Post("http://skiff/images/create?fromSrc="+files.URL+"/rootfs.tar&repo=fromurl:v1", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"sha256:`) {
		t.Fatalf("import from URL: %d %s", resp.StatusCode, body)
	}
	h, err := d.eng.ImageHistory(context.Background(), "fromurl:v1")
	if err != nil || h[0].Comment != "Imported from "+files.URL+"/rootfs.tar" {
		t.Errorf("history = %+v, %v", h, err)
	}
	resp, _ = c.Post("http://skiff/images/create?fromSrc="+files.URL+"/missing.tar", "text/plain", nil)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "404 Not Found") {
		t.Errorf("import of a missing URL: %d %s", resp.StatusCode, body)
	}
}
