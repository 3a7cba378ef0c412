package server

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	containertypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/skiff-dev/skiff/server/wire"
)

// runShell starts a busybox shell with a terminal (-it) through the Docker
// API and returns its ID.
func runShell(t *testing.T, c *client.Client) string {
	t.Helper()
	ctx := context.Background()
	created, err := c.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &containertypes.Config{Image: "busybox", Cmd: []string{"/bin/sh"}, Tty: true, OpenStdin: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.ContainerRemove(context.Background(), created.ID, client.ContainerRemoveOptions{Force: true})
	})
	if _, err := c.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	return created.ID
}

// typeAndExpect types "echo $((6*7))" and reads the terminal until the
// shell's answer, 42, shows.
func typeAndExpect(t *testing.T, ws *websocket.Conn) {
	t.Helper()
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte("echo hi-$((6*7))\r")); err != nil {
		t.Fatal(err)
	}
	var seen []byte
	for !bytes.Contains(seen, []byte("hi-42")) {
		ws.SetReadDeadline(time.Now().Add(time.Minute)) // against a hang, not a speed check
		kind, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v; the terminal showed %q", err, seen)
		}
		if kind == websocket.BinaryMessage {
			seen = append(seen, data...)
		}
	}
}

// The terminal websockets answer on both listeners of the real server:
// the unix socket, and TCP with the token or with a dashboard login.
func TestTerminalThroughTheServer(t *testing.T) {
	d := startDaemon(t)
	c := d.docker(t)
	importBusybox(t, c, "busybox:latest")
	id := runShell(t, c)
	attach := "/skiff/containers/" + id + "/attach/ws?rows=24&cols=80"
	exec := "/skiff/containers/" + id + "/exec/ws?cmd=/bin/sh"

	unix := &websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.socket)
	}}
	cookie := d.login(t, wire.Login{Token: d.token})
	tests := []struct {
		name   string
		dialer *websocket.Dialer
		url    string
		header http.Header
	}{
		{"attach, unix socket", unix, "ws://skiff" + attach, nil},
		{"exec, unix socket", unix, "ws://skiff" + exec, nil},
		{"attach, TCP with the token", websocket.DefaultDialer, "ws://" + d.tcp + attach, http.Header{"Authorization": {"Bearer " + d.token}}},
		{"exec, TCP from the dashboard", websocket.DefaultDialer, "ws://" + d.tcp + exec, withCookie(cookie, http.Header{"Origin": {"http://" + d.tcp}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, resp, err := tt.dialer.Dial(tt.url, tt.header)
			if err != nil {
				t.Fatalf("dial: %v (%v)", err, resp)
			}
			defer ws.Close()
			typeAndExpect(t, ws)
		})
	}
}

// Logging out closes the terminals the login opened: the container runs
// on, and an exec session ends instead of waiting for a reconnect.
func TestLogoutClosesTheTerminals(t *testing.T) {
	d := startDaemon(t)
	c := d.docker(t)
	importBusybox(t, c, "busybox:latest")
	id := runShell(t, c)
	own := "http://" + d.tcp
	cookie := d.login(t, wire.Login{Token: d.token})
	dial := func(path string) *websocket.Conn {
		t.Helper()
		ws, resp, err := websocket.DefaultDialer.Dial("ws://"+d.tcp+path, withCookie(cookie, http.Header{"Origin": {own}}))
		if err != nil {
			t.Fatalf("dial: %v (%v)", err, resp)
		}
		t.Cleanup(func() { ws.Close() })
		return ws
	}
	attach := dial("/skiff/containers/" + id + "/attach/ws")
	typeAndExpect(t, attach)
	exec := dial("/skiff/containers/" + id + "/exec/ws")
	var session struct{ Type, ID string }
	if err := exec.ReadJSON(&session); err != nil || session.Type != "session" {
		t.Fatalf("first exec message: %+v, %v", session, err)
	}
	typeAndExpect(t, exec)

	resp, body := send(t, http.DefaultClient, http.MethodPost, own+"/skiff/logout", "", withCookie(cookie, http.Header{"X-Csrf-Token": {d.csrfToken(t, cookie)}}))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	for name, ws := range map[string]*websocket.Conn{"attach": attach, "exec": exec} {
		var err error
		for err == nil {
			ws.SetReadDeadline(time.Now().Add(time.Minute)) // against a hang, not a speed check
			_, _, err = ws.ReadMessage()
		}
		if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
			t.Errorf("%s after the logout: %v, want a close with 1008", name, err)
		}
	}

	inspect, err := c.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !inspect.Container.State.Running {
		t.Error("the container stopped with the terminal")
	}
	// A new login cannot take the session over.
	again, _, err := websocket.DefaultDialer.Dial("ws://"+d.tcp+"/skiff/containers/"+id+"/exec/ws?session="+session.ID,
		withCookie(d.login(t, wire.Login{Token: d.token}), http.Header{"Origin": {own}}))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	var m struct{ Type, Message string }
	if err := again.ReadJSON(&m); err != nil || m.Type != "error" {
		t.Errorf("rejoining the session after the logout: %+v, %v; want an error", m, err)
	}
}
