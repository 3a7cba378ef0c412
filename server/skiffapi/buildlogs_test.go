package skiffapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/build"
	"github.com/skiff-dev/skiff/server/internal/apitest"
)

// dialLogs opens the logs websocket of build id.
func dialLogs(t *testing.T, addr, id string, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/skiff/builds/"+id+"/logs", header)
	if conn != nil {
		t.Cleanup(func() { conn.Close() })
	}
	return conn, resp, err
}

// readFrame reads one text frame.
func readFrame(t *testing.T, conn *websocket.Conn) string {
	t.Helper()
	kind, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	if kind != websocket.TextMessage {
		t.Fatalf("frame of type %d, want text", kind)
	}
	return string(data)
}

// A late joiner gets the log so far, then the live messages, then a normal
// close after the last one.
func TestLogsWebsocketReplaysThenFollows(t *testing.T) {
	f := apitest.NewBuilds()
	b := f.Add(build.StatusRunning, engine.BuildMessage{Stream: "Step 1/2 : FROM busybox\n"}, engine.BuildMessage{Stream: " ---> 1c35c4412082\n"})
	srv := serveBuilds(t, f, context.Background())
	conn, _, err := dialLogs(t, srv.Listener.Addr().String(), b.ID, nil)
	if err != nil {
		t.Fatal(err)
	}

	for _, want := range []string{`{"stream":"Step 1/2 : FROM busybox\n"}`, `{"stream":" ---\u003e 1c35c4412082\n"}`} {
		if got := readFrame(t, conn); got != want+"\n" {
			t.Errorf("replayed %q, want %q", got, want)
		}
	}
	live := []struct {
		msg  engine.BuildMessage
		want string
	}{
		{engine.BuildMessage{Stream: "Step 2/2 : CMD [\"sh\"]\n"}, `{"stream":"Step 2/2 : CMD [\"sh\"]\n"}`},
		{engine.BuildMessage{ImageID: "sha256:3f0a"}, `{"aux":{"ID":"sha256:3f0a"}}`},
	}
	for _, m := range live {
		b.Emit(m.msg)
		if got := readFrame(t, conn); got != m.want+"\n" {
			t.Errorf("live %q, want %q", got, m.want)
		}
	}
	_, _, err = conn.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("after the last message: %v, want a normal close", err)
	}
}

func TestLogsWebsocketOfAFailedBuild(t *testing.T) {
	f := apitest.NewBuilds()
	b := f.Add(build.StatusFailed, engine.BuildMessage{Error: "The command '/bin/sh -c false' returned a non-zero code: 1"})
	srv := serveBuilds(t, f, context.Background())
	conn, _, err := dialLogs(t, srv.Listener.Addr().String(), b.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"errorDetail":{"message":"The command '/bin/sh -c false' returned a non-zero code: 1"},"error":"The command '/bin/sh -c false' returned a non-zero code: 1"}` + "\n"
	if got := readFrame(t, conn); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, _, err := conn.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("after the last message: %v, want a normal close", err)
	}
}

func TestLogsWebsocketChecksTheOrigin(t *testing.T) {
	f := apitest.NewBuilds()
	b := f.Add(build.StatusSucceeded, engine.BuildMessage{ImageID: "sha256:3f0a"})
	srv := serveBuilds(t, f, context.Background())
	addr := srv.Listener.Addr().String()

	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser
		{"http://" + addr, true},
		{"http://" + strings.ToUpper(addr), true},
		{"http://evil.example", false},
		{"https://" + addr, false}, // another scheme is another origin
		{"null", false},
	}
	for _, tt := range tests {
		header := http.Header{}
		if tt.origin != "" {
			header.Set("Origin", tt.origin)
		}
		conn, resp, err := dialLogs(t, addr, b.ID, header)
		if tt.ok {
			if err != nil {
				t.Errorf("Origin %q: %v", tt.origin, err)
			}
			continue
		}
		if conn != nil || !errors.Is(err, websocket.ErrBadHandshake) || resp.StatusCode != http.StatusForbidden {
			t.Errorf("Origin %q: connected or wrong refusal (%v, %v)", tt.origin, resp, err)
		}
	}
}

func TestLogsOfAnUnknownBuild(t *testing.T) {
	srv := serveBuilds(t, apitest.NewBuilds(), context.Background())
	_, resp, err := dialLogs(t, srv.Listener.Addr().String(), "nope", nil)
	if !errors.Is(err, websocket.ErrBadHandshake) || resp.StatusCode != http.StatusNotFound {
		t.Errorf("got %v, %v; want a 404", resp, err)
	}
}

// Without an upgrade, the logs come as /build's JSON stream.
func TestLogsAsAJSONStream(t *testing.T) {
	f := apitest.NewBuilds()
	b := f.Add(build.StatusSucceeded, engine.BuildMessage{Stream: "Step 1/1 : FROM busybox\n"}, engine.BuildMessage{ImageID: "sha256:3f0a"})
	srv := serveBuilds(t, f, context.Background())
	resp, body := do(t, http.MethodGet, srv.URL+"/skiff/builds/"+b.ID+"/logs", nil)
	want := `{"stream":"Step 1/1 : FROM busybox\n"}` + "\n" + `{"aux":{"ID":"sha256:3f0a"}}` + "\n"
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || body != want {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
}
