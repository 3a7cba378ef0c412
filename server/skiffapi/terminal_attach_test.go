package skiffapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/container"
)

func attachPath(id, query string) string {
	return "/skiff/containers/" + id + "/attach/ws" + query
}

// Typing reaches the container's shell and its answer comes back.
func TestAttachTypesIntoTheContainersTerminal(t *testing.T) {
	env := newTermEnv(t, nil)
	id := env.run(t, true, "/bin/sh")
	c := env.dial(t, attachPath(id, "?rows=24&cols=80"))

	c.send("echo hi\r")
	c.expect("echo hi\r\n") // the shell's echo of the typing
	c.expect("hi\r\n")      // and the command's output
}

// The terminal has the browser's size before the first byte, and follows
// resize messages.
func TestAttachResizesTheTerminal(t *testing.T) {
	env := newTermEnv(t, nil)
	id := env.run(t, true, "/bin/sh")
	c := env.dial(t, attachPath(id, "?rows=30&cols=100"))

	c.send("stty size\r")
	c.expect("\r\n30 100\r\n")
	c.sendJSON(map[string]any{"type": "resize", "rows": 40, "cols": 120})
	c.send("stty size\r")
	c.expect("\r\n40 120\r\n")
}

// Ctrl-P Ctrl-Q detaches: a message, a normal close, and the container
// runs on; so it does after a websocket just goes away.
func TestAttachDetachLeavesTheContainerRunning(t *testing.T) {
	env := newTermEnv(t, nil)
	id := env.run(t, true, "/bin/sh")

	c := env.dial(t, attachPath(id, ""))
	c.send("\x10\x11")
	c.expectMessage(detachedMessage)
	c.expectClose(websocket.CloseNormalClosure)

	dropped := env.dial(t, attachPath(id, ""))
	dropped.ws.UnderlyingConn().Close()

	// A new attach still finds the shell: it answers.
	again := env.dial(t, attachPath(id, ""))
	cmd, want := uniqueOutput("alive")
	again.send(cmd)
	again.expect(want)
	ctr, err := env.eng.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !ctr.State.Running() {
		t.Errorf("the container is %s after the detach, want running", ctr.State.Status)
	}
}

// A ctrl-p not followed by ctrl-q reaches the container.
func TestAttachPassesALoneCtrlP(t *testing.T) {
	env := newTermEnv(t, nil)
	id := env.run(t, true, "/bin/sh")
	c := env.dial(t, attachPath(id, ""))

	c.send("head -c 2 | od -An -tx1\r")
	c.send("\x10a\r")
	c.expect(" 10 61\r\n")
}

// Several websockets attach to one container; each gets the output.
func TestAttachFromTwoWebsockets(t *testing.T) {
	env := newTermEnv(t, nil)
	id := env.run(t, true, "/bin/sh")
	first := env.dial(t, attachPath(id, ""))
	second := env.dial(t, attachPath(id, ""))

	cmd, want := uniqueOutput("both")
	first.send(cmd)
	first.expect(want)
	second.expect(want)
}

// A terminal that opens (or reconnects) first shows the container's recent
// output, from before it was there.
func TestAttachReplaysRecentOutput(t *testing.T) {
	env := newTermEnv(t, nil)
	id := env.run(t, true, "/bin/sh", "-c", "echo before-$((1+1)); exec sh")
	first := env.dial(t, attachPath(id, ""))
	first.expect("before-2")
	cmd, want := uniqueOutput("earlier")
	first.send(cmd)
	first.expect(want)
	first.ws.UnderlyingConn().Close() // dropped

	again := env.dial(t, attachPath(id, ""))
	again.expect("before-2")
	again.expect(want)
}

// The container's exit is told with its code, then a normal close.
func TestAttachTellsTheContainersExit(t *testing.T) {
	env := newTermEnv(t, nil)
	id := env.run(t, true, "/bin/sh")
	c := env.dial(t, attachPath(id, ""))

	c.send("exit 5\r")
	c.expectMessage(exitMessage(5))
	c.expectClose(websocket.CloseNormalClosure)
}

// What cannot be attached is refused before the upgrade, with a JSON error.
func TestAttachRefusals(t *testing.T) {
	env := newTermEnv(t, nil)
	noTTY := env.run(t, false, "/bin/sh")
	stopped := env.run(t, true, "true")
	if _, err := env.eng.ContainerWait(context.Background(), stopped, container.WaitNotRunning, func() {}); err != nil {
		t.Fatal(err)
	}
	running := env.run(t, true, "/bin/sh")

	tests := []struct {
		name    string
		path    string
		header  http.Header
		status  int
		message string
	}{
		{"no tty", attachPath(noTTY, ""), nil, http.StatusConflict, "created without -t"},
		{"not running", attachPath(stopped, ""), nil, http.StatusConflict, "is not running"},
		{"no such container", attachPath("nosuch", ""), nil, http.StatusNotFound, "No such container"},
		{"half a size", attachPath(running, "?rows=10"), nil, http.StatusBadRequest, "invalid terminal size"},
		{"zero size", attachPath(running, "?rows=0&cols=80"), nil, http.StatusBadRequest, "invalid terminal size"},
		{"another site's page", attachPath(running, ""), http.Header{"Origin": {"http://evil.example"}}, http.StatusForbidden, "foreign origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, resp, err := env.tryDial(t, tt.path, tt.header)
			if err == nil {
				t.Fatal("the upgrade succeeded")
			}
			checkErrorResponse(t, resp, tt.status, tt.message)
		})
	}

	t.Run("not a websocket", func(t *testing.T) {
		resp, err := http.Get("http" + strings.TrimPrefix(env.url, "ws") + attachPath(running, ""))
		if err != nil {
			t.Fatal(err)
		}
		checkErrorResponse(t, resp, http.StatusBadRequest, "websocket")
	})
}

func checkErrorResponse(t *testing.T, resp *http.Response, status int, message string) {
	t.Helper()
	if resp == nil {
		t.Fatal("no HTTP answer")
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct{ Message string }
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("answer %q is not a JSON error: %v", body, err)
	}
	if resp.StatusCode != status || !strings.Contains(e.Message, message) {
		t.Errorf("answer %d %q, want %d and a message with %q", resp.StatusCode, e.Message, status, message)
	}
}

// A container never waits for a terminal: a browser that falls too far
// behind a flood of output is dropped by the container's monitor, and the
// server attaches again, resuming at the screen's latest state (what was
// in between is skipped) on the same websocket. The server holds no more
// than a chunk meanwhile.
func TestAttachResumesAfterFallingBehind(t *testing.T) {
	env := newTermEnv(t, nil)
	// 64 MB, more than the sockets can buffer, once the terminal says go.
	id := env.run(t, true, "/bin/sh", "-c", `read go; head -c 67108864 /dev/zero | tr '\0' y; echo; echo flood-$((1+1)); exec sh`)
	c := env.dial(t, attachPath(id, ""))
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	c.send("go\r")
	// Read nothing until the whole flood is out, as the log shows.
	flooded := errors.New("flooded")
	_, err := env.eng.ContainerLogs(context.Background(), id, engine.ContainerLogOptions{Follow: true, Stdout: true}, func(e engine.LogEntry) error {
		if bytes.Contains(e.Line, []byte("flood-2")) {
			return flooded
		}
		return nil
	})
	if !errors.Is(err, flooded) {
		t.Fatalf("following the log: %v", err)
	}
	var now runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&now)
	if grown := int64(now.HeapAlloc) - int64(before.HeapAlloc); grown > 16<<20 {
		t.Errorf("the heap grew by %d MB during the flood", grown>>20)
	}

	var received int
	var tail []byte // the end of what arrived, where the marker is looked for
	for !bytes.Contains(tail, []byte("flood-2")) {
		if m := c.next(); m != nil {
			t.Fatalf("message %+v after %d bytes", *m, received)
		}
		received += len(c.out)
		tail = append(tail[max(0, len(tail)-16):], c.out...)
		c.out = c.out[:0]
	}
	if received >= 64<<20 {
		t.Errorf("%d bytes arrived: nothing was skipped, the monitor never dropped the terminal", received)
	}
	cmd, want := uniqueOutput("after")
	c.send(cmd)
	c.expect(want)
}
