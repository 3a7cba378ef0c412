package skiffapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	containertypes "github.com/moby/moby/api/types/container"
	_ "modernc.org/sqlite"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/monitor"
	"github.com/skiff-dev/skiff/engine/runtime"
	"github.com/skiff-dev/skiff/engine/testimage"
	"github.com/skiff-dev/skiff/server/internal/apitest"
)

// TestMain lets the test binary serve as the skiff binary that the engine
// re-executes as a container's monitor and init.
func TestMain(m *testing.M) {
	runtime.MaybeReexec()
	monitor.MaybeReexec()
	os.Exit(m.Run())
}

// hangGuard bounds how long a test waits for the terminal, so that a bug
// fails the test with what was seen instead of hanging it. It asserts
// nothing about speed.
const hangGuard = time.Minute

// termEnv is a real engine with the busybox image, and the terminal routes
// over it on loopback.
type termEnv struct {
	eng    *engine.Engine
	routes *terminalRoutes
	url    string // ws://127.0.0.1:port
}

// newTermEnv starts the routes, after configure (if not nil) adjusted them.
func newTermEnv(t testing.TB, configure func(*terminalRoutes)) *termEnv {
	t.Helper()
	ctx := context.Background()
	eng, err := engine.Open(ctx, engine.Config{DataRoot: t.TempDir(), Migrations: os.DirFS("../../migrations"), SQLDriver: "sqlite"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		list, _ := eng.ContainerList(ctx, engine.ContainerListOptions{All: true})
		for _, c := range list {
			eng.ContainerRemove(ctx, c.ID, engine.ContainerRemoveOptions{Force: true})
		}
		eng.Close()
	})
	tag, err := engine.ParseImageTag("busybox:latest")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.ImageImport(ctx, bytes.NewReader(testimage.Rootfs(t)), engine.ImageImportOptions{Source: "-", Tag: tag}); err != nil {
		t.Fatal(err)
	}
	base, stop := context.WithCancel(ctx)
	r := newTerminalRoutes(eng, func() context.Context { return base })
	if configure != nil {
		configure(r)
	}
	e := apitest.NewEcho()
	r.register(e.Group("/skiff"))
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		stop() // hangs up the exec sessions
		srv.Close()
	})
	return &termEnv{eng: eng, routes: r, url: "ws://" + srv.Listener.Addr().String()}
}

// run starts a busybox container running cmd, with a terminal if tty, and
// returns its ID.
func (env *termEnv) run(t testing.TB, tty bool, cmd ...string) string {
	t.Helper()
	ctx := context.Background()
	c, _, err := env.eng.ContainerCreate(ctx, engine.ContainerCreateOptions{
		Config:     &containertypes.Config{Image: "busybox", Cmd: cmd, Tty: tty, OpenStdin: true},
		HostConfig: &containertypes.HostConfig{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.eng.ContainerStart(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// termClient is a browser's end of a terminal websocket.
type termClient struct {
	t    testing.TB
	ws   *websocket.Conn
	out  []byte // the terminal's bytes so far
	seen int    // how much of out expect has consumed
}

// dial opens a terminal websocket at path (and query) and fails the test if
// it is refused.
func (env *termEnv) dial(t testing.TB, path string) *termClient {
	t.Helper()
	c, resp, err := env.tryDial(t, path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v (%s)", path, err, respStatus(resp))
	}
	return c
}

func (env *termEnv) tryDial(t testing.TB, path string, header http.Header) (*termClient, *http.Response, error) {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(env.url+path, header)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { ws.Close() })
	return &termClient{t: t, ws: ws}, resp, nil
}

func respStatus(resp *http.Response) string {
	if resp == nil {
		return "no answer"
	}
	return resp.Status
}

// send types s.
func (c *termClient) send(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte(s)); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// sendJSON sends a control message.
func (c *termClient) sendJSON(v any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(v); err != nil {
		c.t.Fatalf("send %v: %v", v, err)
	}
}

// next reads one frame: terminal bytes are added to out; a control
// message is returned (nil for bytes).
func (c *termClient) next() *serverMessage {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(hangGuard))
	kind, data, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v; the terminal showed %q", err, c.out)
	}
	if kind == websocket.BinaryMessage {
		c.out = append(c.out, data...)
		return nil
	}
	var m serverMessage
	if err := json.Unmarshal(data, &m); err != nil {
		c.t.Fatalf("control message %q: %v", data, err)
	}
	return &m
}

// expect reads until the terminal shows want after what earlier expects
// consumed, and consumes up to it. A control message on the way fails.
func (c *termClient) expect(want string) {
	c.t.Helper()
	for {
		if i := bytes.Index(c.out[c.seen:], []byte(want)); i >= 0 {
			c.seen += i + len(want)
			return
		}
		if m := c.next(); m != nil {
			c.t.Fatalf("waiting for %q: got the message %+v; the terminal showed %q", want, *m, c.out)
		}
	}
}

// expectMessage reads until a control message comes, skipping terminal
// bytes, and checks it is want.
func (c *termClient) expectMessage(want serverMessage) {
	c.t.Helper()
	for {
		if m := c.next(); m != nil {
			if !sameMessage(*m, want) {
				c.t.Fatalf("message %s, want %s; the terminal showed %q", jsonOf(*m), jsonOf(want), c.out)
			}
			return
		}
	}
}

// sessionID reads the first message of an exec session, its ID.
func (c *termClient) sessionID() string {
	c.t.Helper()
	m := c.next()
	if m == nil || m.Type != "session" || m.ID == "" {
		c.t.Fatalf("first frame %+v, want a session message", m)
	}
	return m.ID
}

// expectClose reads until the websocket closes and checks the close code.
func (c *termClient) expectClose(code int) {
	c.t.Helper()
	for {
		c.ws.SetReadDeadline(time.Now().Add(hangGuard))
		_, data, err := c.ws.ReadMessage()
		if err == nil {
			c.t.Logf("before the close: %q", data)
			continue
		}
		if !websocket.IsCloseError(err, code) {
			c.t.Fatalf("end of the websocket: %v, want close code %d", err, code)
		}
		return
	}
}

func sameMessage(a, b serverMessage) bool { return jsonOf(a) == jsonOf(b) }

func jsonOf(m serverMessage) string {
	data, _ := json.Marshal(m)
	return string(data)
}

// uniqueOutput is a shell command whose output, want, differs from its
// echo on the terminal: expect(want) then sees the command's run, not the
// typing.
func uniqueOutput(tag string) (cmd, want string) {
	return "echo " + tag + "-$((6*7))\r", tag + "-42"
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
