package skiffapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/enginetest"
	"github.com/skiff-dev/skiff/engine/registry/registrytest"
	"github.com/skiff-dev/skiff/engine/testimage"
	"github.com/skiff-dev/skiff/server/internal/apitest"
)

// regEnv is a real engine with the pull and push websockets over it, and a
// real registry, on loopback.
type regEnv struct {
	eng  *engine.Engine
	addr string // the websockets' host:port
	reg  registrytest.Registry
}

func newRegEnv(t *testing.T) *regEnv {
	t.Helper()
	eng := enginetest.Open(t)
	reg := registrytest.Start(t)
	base, stop := context.WithCancel(context.Background())
	e := apitest.NewEcho()
	newRegistryRoutes(eng, func() context.Context { return base }).register(e.Group("/skiff"))
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		stop()
		srv.Close()
	})
	return &regEnv{eng: eng, addr: srv.Listener.Addr().String(), reg: reg}
}

// dial opens the websocket of op (pull or push) for ref.
func (env *regEnv) dial(t *testing.T, op, ref string, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	u := "ws://" + env.addr + "/skiff/images/" + op + "/ws?ref=" + url.QueryEscape(ref)
	conn, resp, err := websocket.DefaultDialer.Dial(u, header)
	if conn != nil {
		t.Cleanup(func() { conn.Close() })
	}
	return conn, resp, err
}

// progressMsg is a message of the stream as the dashboard reads it.
type progressMsg struct {
	jsonstream.Message
	Error string `json:"error"`
}

// readAll reads messages until the server closes, and returns them with
// the close error.
func readAll(t *testing.T, conn *websocket.Conn) ([]progressMsg, error) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(hangGuard))
	var msgs []progressMsg
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			return msgs, err
		}
		if kind != websocket.TextMessage {
			t.Fatalf("frame of type %d, want text", kind)
		}
		var m progressMsg
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("message %q: %v", data, err)
		}
		msgs = append(msgs, m)
	}
}

// statuses are the messages' "ID: status" lines, as docker pull prints them.
func statuses(msgs []progressMsg) []string {
	var out []string
	for _, m := range msgs {
		switch {
		case m.Status == "":
			continue
		case m.ID != "":
			out = append(out, m.ID+": "+m.Status)
		default:
			out = append(out, m.Status)
		}
	}
	return out
}

// stream runs a pull or push websocket for ref to its end, which must be a
// normal close, and returns its messages.
func (env *regEnv) stream(t *testing.T, op, ref string) []progressMsg {
	t.Helper()
	conn, resp, err := env.dial(t, op, ref, nil)
	if err != nil {
		t.Fatalf("dial: %v (%s)", err, respStatus(resp))
	}
	msgs, err := readAll(t, conn)
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Fatalf("the stream ended with %v, want a normal close", err)
	}
	return msgs
}

func TestPullWebsocket(t *testing.T) {
	env := newRegEnv(t)
	img := registrytest.Image(t, testimage.Rootfs(t))
	manifest := registrytest.Push(t, img, env.reg.Host+"/test/busybox:v1")
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	ld, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	layer := ld.Hex[:12]
	ref := env.reg.Host + "/test/busybox:v1"

	tests := []struct {
		name    string
		want    []string // lines, in this order (others may come between)
		verdict string
	}{
		{"first pull", []string{"v1: Pulling from test/busybox", layer + ": Pulling fs layer", layer + ": Download complete", layer + ": Pull complete", "Digest: " + manifest.String()}, "Status: Downloaded newer image for " + ref},
		{"again", []string{"v1: Pulling from test/busybox", layer + ": Already exists", "Digest: " + manifest.String()}, "Status: Image is up to date for " + ref},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := env.stream(t, "pull", ref)
			got := statuses(msgs)
			i := 0
			for _, line := range got {
				if i < len(tt.want) && line == tt.want[i] {
					i++
				}
			}
			if i < len(tt.want) {
				t.Errorf("no %q in order in:\n%s", tt.want[i], strings.Join(got, "\n"))
			}
			if len(got) == 0 || got[len(got)-1] != tt.verdict {
				t.Errorf("last status of %q, want %q", got, tt.verdict)
			}
			for _, m := range msgs {
				if m.ID == layer && m.Progress == nil {
					t.Errorf("a layer's message without progressDetail: %+v", m)
				}
			}
			// The last message is the result.
			last := msgs[len(msgs)-1]
			var res PullResult
			if last.Aux == nil || json.Unmarshal(*last.Aux, &res) != nil {
				t.Fatalf("last message %+v, want the aux result", last)
			}
			wantRes := PullResult{ID: res.ID, Digest: manifest.String(), Ref: ref, UpToDate: tt.name == "again"}
			if res != wantRes || !strings.HasPrefix(res.ID, "sha256:") {
				t.Errorf("result %+v, want %+v", res, wantRes)
			}
			inspected, err := env.eng.ImageInspect(context.Background(), ref)
			if err != nil || inspected.ID.String() != res.ID {
				t.Errorf("the store has %v (%v), want %s", inspected, err, res.ID)
			}
		})
	}
}

// A failed pull ends with Docker's error message, its class as its code,
// then a normal close: the stream itself went as it should.
func TestPullWebsocketOfAnUnknownImage(t *testing.T) {
	env := newRegEnv(t)
	msgs := env.stream(t, "pull", env.reg.Host+"/test/nope:v1")
	last := msgs[len(msgs)-1]
	if last.Error == "" || last.Message.Error == nil || last.Message.Error.Code != http.StatusNotFound || last.Message.Error.Message != last.Error {
		t.Errorf("last message %+v, want a not-found error", last)
	}
	if !strings.Contains(last.Error, "test/nope") {
		t.Errorf("the error does not name the image: %s", last.Error)
	}
}

func TestRegistryWebsocketsRefuse(t *testing.T) {
	env := newRegEnv(t)
	good := env.reg.Host + "/test/busybox:v1"
	tests := []struct {
		name    string
		upgrade bool
		origin  string
		ref     string
		status  int
	}{
		{"a plain GET", false, "", good, http.StatusBadRequest},
		{"a foreign origin", true, "http://evil.example", good, http.StatusForbidden},
		{"another scheme", true, "https://" + env.addr, good, http.StatusForbidden},
		{"no reference", true, "", "", http.StatusBadRequest},
		{"an invalid reference", true, "http://" + env.addr, "busybox:not a tag", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := "http://" + env.addr + "/skiff/images/pull/ws?ref=" + url.QueryEscape(tt.ref)
			if tt.upgrade {
				header := http.Header{}
				if tt.origin != "" {
					header.Set("Origin", tt.origin)
				}
				conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(u, "http"), header)
				if conn != nil {
					conn.Close()
				}
				if !errors.Is(err, websocket.ErrBadHandshake) || resp.StatusCode != tt.status {
					t.Errorf("got %v, %s; want %d", err, respStatus(resp), tt.status)
				}
				return
			}
			resp, body := do(t, http.MethodGet, u, nil)
			if resp.StatusCode != tt.status || !strings.Contains(body, "websocket") {
				t.Errorf("got %d %s, want %d", resp.StatusCode, body, tt.status)
			}
		})
	}
	if list, err := env.eng.ImageList(context.Background(), engine.ImageListOptions{All: true}); err != nil || len(list) != 0 {
		t.Errorf("images after refusals: %v, %v", list, err)
	}
}

// stallingProxy forwards to the registry, but holds the request for one
// blob until the client gives it up: requested closes when it arrives,
// abandoned when its context ends.
type stallingProxy struct {
	blob                 string
	requested, abandoned chan struct{}
}

func (p *stallingProxy) start(t *testing.T, registryHost string) string {
	t.Helper()
	forward := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: registryHost})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/blobs/"+p.blob) {
			forward.ServeHTTP(w, r)
			return
		}
		close(p.requested)
		<-r.Context().Done()
		close(p.abandoned)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// Closing the websocket cancels the pull: the registry's blob request is
// given up, and the image is not stored.
func TestPullWebsocketClosedCancelsThePull(t *testing.T) {
	env := newRegEnv(t)
	img := registrytest.Image(t, testimage.Rootfs(t))
	registrytest.Push(t, img, env.reg.Host+"/test/busybox:v1")
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	ld, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	proxy := &stallingProxy{blob: ld.String(), requested: make(chan struct{}), abandoned: make(chan struct{})}
	host := proxy.start(t, env.reg.Host)

	conn, resp, err := env.dial(t, "pull", host+"/test/busybox:v1", nil)
	if err != nil {
		t.Fatalf("dial: %v (%s)", err, respStatus(resp))
	}
	select {
	case <-proxy.requested:
	case <-time.After(hangGuard):
		t.Fatal("the layer's blob was never requested")
	}
	conn.Close()
	select {
	case <-proxy.abandoned:
	case <-time.After(hangGuard):
		t.Fatal("the blob request was not given up after the websocket closed")
	}
	if _, err := env.eng.ImageInspect(context.Background(), host+"/test/busybox:v1"); err == nil {
		t.Error("the cancelled pull stored the image")
	}
}

// importBusybox stores the busybox image under ref.
func (env *regEnv) importBusybox(t *testing.T, ref string) {
	t.Helper()
	tag, err := engine.ParseImageTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.eng.ImageImport(context.Background(), bytes.NewReader(testimage.Rootfs(t)), engine.ImageImportOptions{Source: "-", Tag: tag}); err != nil {
		t.Fatal(err)
	}
}

func TestPushWebsocket(t *testing.T) {
	env := newRegEnv(t)
	ref := env.reg.Host + "/test/busybox:v1"
	env.importBusybox(t, ref)
	img, err := env.eng.ImageInspect(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	layer := img.Config.RootFS.DiffIDs[0].Encoded()[:12]

	tests := []struct {
		name  string
		steps []string // the layer's steps, in this order (others may come between)
	}{
		{"first push", []string{"Preparing", "Pushed"}},
		{"again", []string{"Preparing", "Layer already exists"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := env.stream(t, "push", ref)
			got := statuses(msgs)
			if len(got) == 0 || got[0] != "The push refers to repository ["+env.reg.Host+"/test/busybox]" {
				t.Errorf("first status of %q", got)
			}
			i := 0
			for _, line := range got {
				if i < len(tt.steps) && line == layer+": "+tt.steps[i] {
					i++
				}
			}
			if i < len(tt.steps) {
				t.Errorf("no %q in order in:\n%s", layer+": "+tt.steps[i], strings.Join(got, "\n"))
			}
			last := msgs[len(msgs)-1]
			var res PushResult
			if last.Aux == nil || json.Unmarshal(*last.Aux, &res) != nil {
				t.Fatalf("last message %+v, want the aux result", last)
			}
			if res.Tag != "v1" || !strings.HasPrefix(res.Digest, "sha256:") || res.Size <= 0 {
				t.Errorf("result %+v", res)
			}
			if want := fmt.Sprintf("v1: digest: %s size: %d", res.Digest, res.Size); got[len(got)-1] != want {
				t.Errorf("last status %q, want %q", got[len(got)-1], want)
			}
			// The registry serves the manifest pushed.
			req, err := http.NewRequest(http.MethodHead, "http://"+env.reg.Host+"/v2/test/busybox/manifests/v1", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
			head, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			head.Body.Close()
			if d := head.Header.Get("Docker-Content-Digest"); head.StatusCode != http.StatusOK || d != res.Digest {
				t.Errorf("the registry answers %d with digest %q, want %s", head.StatusCode, d, res.Digest)
			}
		})
	}
}

func TestPushWebsocketFails(t *testing.T) {
	env := newRegEnv(t)
	locked := registrytest.Start(t, registrytest.WithHtpasswd(t, "user", "secret"))
	env.importBusybox(t, locked.Host+"/test/busybox:v1")
	tests := []struct {
		name string
		ref  string
		code int // 0: not checked
		want string
	}{
		{"an image not here", env.reg.Host + "/test/nope:v1", http.StatusNotFound, "An image does not exist locally with the tag: " + env.reg.Host + "/test/nope"},
		// The dashboard offers its login on this code (and these words).
		{"a registry that wants an account", locked.Host + "/test/busybox:v1", http.StatusUnauthorized, "authentication required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := env.stream(t, "push", tt.ref)
			last := msgs[len(msgs)-1]
			if last.Message.Error == nil || (tt.code != 0 && last.Message.Error.Code != tt.code) || !strings.Contains(last.Error, tt.want) {
				t.Errorf("last message %+v, want code %d and %q", last, tt.code, tt.want)
			}
		})
	}
	// A digest names no tag to push.
	_, resp, err := env.dial(t, "push", env.reg.Host+"/test/busybox@sha256:"+strings.Repeat("a", 64), nil)
	if !errors.Is(err, websocket.ErrBadHandshake) || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("push by digest: %v, %s; want a 400", err, respStatus(resp))
	}
}
