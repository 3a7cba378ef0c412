package skiffapi

import (
	"bytes"
	"context"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/skiff-dev/skiff/engine"
)

func execPath(id, query string) string {
	return "/skiff/containers/" + id + "/exec/ws" + query
}

// An exec session starts with its ID, has the browser's size from its first
// byte, runs its command's arguments, and tells the exit code.
func TestExecSession(t *testing.T) {
	env := newTermEnv(t, nil)
	id := env.run(t, false, "sleep", "1000")

	t.Run("a shell at the browser's size", func(t *testing.T) {
		c := env.dial(t, execPath(id, "?cmd=/bin/sh&rows=33&cols=111"))
		c.sessionID()
		c.send("stty size; echo $TERM\r")
		c.expect("\r\n33 111\r\nxterm-256color\r\n")
		c.send("exit 3\r")
		c.expectMessage(exitMessage(3))
		c.expectClose(websocket.CloseNormalClosure)
	})
	t.Run("a command with arguments", func(t *testing.T) {
		c := env.dial(t, execPath(id, "?cmd=/bin/echo&cmd=one&cmd=two+words"))
		c.sessionID()
		c.expect("one two words\r\n")
		c.expectMessage(exitMessage(0))
		c.expectClose(websocket.CloseNormalClosure)
	})
	t.Run("the default shell", func(t *testing.T) {
		c := env.dial(t, execPath(id, ""))
		c.sessionID()
		c.send("readlink /proc/$$/exe\r")
		c.expect("\r\n/bin/busybox\r\n")
	})
}

// A missing shell is told in the terminal, not by a vanishing console.
func TestExecOfAMissingShell(t *testing.T) {
	env := newTermEnv(t, nil)
	id := env.run(t, false, "sleep", "1000")
	c := env.dial(t, execPath(id, "?cmd=/bin/bash"))

	m := c.next()
	if m == nil || m.Type != "error" || !containsAll(m.Message, "/bin/bash", "no such file or directory") {
		t.Fatalf("first frame %+v, want an error about /bin/bash", m)
	}
	c.expectClose(websocket.CloseNormalClosure)
}

// A container that stops under a session is told as such.
func TestExecTellsTheContainersStop(t *testing.T) {
	env := newTermEnv(t, nil)
	id := env.run(t, false, "sleep", "1000")
	c := env.dial(t, execPath(id, ""))
	c.sessionID()
	cmd, want := uniqueOutput("ready")
	c.send(cmd)
	c.expect(want)

	timeout := 0
	if err := env.eng.ContainerStop(context.Background(), id, engine.ContainerStopOptions{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	c.expectMessage(errorMessage("the container stopped"))
	c.expectClose(websocket.CloseNormalClosure)
}

// A session outlives its dropped websocket: a reconnect with its ID replays
// what was printed, then goes on live with the same shell.
func TestExecReconnectReplaysTheScrollback(t *testing.T) {
	env := newTermEnv(t, nil)
	id := env.run(t, false, "sleep", "1000")
	first := env.dial(t, execPath(id, "?rows=24&cols=80"))
	session := first.sessionID()
	first.send("x=kept; echo printed-before-$((2*3))\r")
	first.expect("printed-before-6")
	first.ws.UnderlyingConn().Close() // dropped, no close frame

	again := env.dial(t, execPath(id, "?rows=30&cols=90&session="+session))
	if got := again.sessionID(); got != session {
		t.Errorf("reconnected to session %q, want %q", got, session)
	}
	again.expect("printed-before-6")
	again.send("echo $x; stty size\r")
	again.expect("\r\nkept\r\n30 90\r\n")

	other := env.run(t, false, "sleep", "1000")
	for _, path := range []string{
		execPath(id, "?session=nosuch"),
		execPath(other, "?session="+session), // another container's
	} {
		c := env.dial(t, path)
		c.expectMessage(errorMessage("no such terminal session: it has ended, or was left without a connection too long"))
		c.expectClose(websocket.CloseNormalClosure)
	}
}

// A session whose browser closed it normally hangs up at once: its shell
// gets SIGHUP, and the session cannot be joined any more.
func TestExecNormalCloseHangsUp(t *testing.T) {
	env := newTermEnv(t, nil)
	id := env.run(t, false, "sleep", "1000")
	c := env.dial(t, execPath(id, ""))
	session := c.sessionID()
	execID := env.routes.sessions.execIDOf(t, session)

	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	code, err := env.eng.ExecFinish(context.Background(), execID)
	if err != nil {
		t.Fatal(err)
	}
	if code != 128+1 {
		t.Errorf("the shell exited with %d, want 129 (SIGHUP)", code)
	}
}

// A peer that answers no ping is dropped; its session waits for it.
func TestExecDropsASilentPeer(t *testing.T) {
	env := newTermEnv(t, func(r *terminalRoutes) {
		r.hb = heartbeat{period: 10 * time.Millisecond, timeout: 50 * time.Millisecond}
	})
	id := env.run(t, false, "sleep", "1000")
	c := env.dial(t, execPath(id, ""))
	session := c.sessionID()
	pinged := make(chan struct{}, 1)
	c.ws.SetPingHandler(func(string) error { // and no pong
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})

	// Reading, the client sees the pings, then the server's end of the
	// connection.
	c.ws.SetReadDeadline(time.Now().Add(hangGuard))
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			break
		}
	}
	select {
	case <-pinged:
	default:
		t.Error("the server sent no ping")
	}
	again := env.dial(t, execPath(id, "?session="+session))
	again.sessionID()
	cmd, want := uniqueOutput("back")
	again.send(cmd)
	again.expect(want)
}

// 50 MB of output through a browser that reads slowly: the session's
// process waits for it (the scrollback fills and the pump stops reading),
// the server's memory stays bounded, and every byte arrives, once.
func TestExecFlowControl(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB through a terminal")
	}
	stalled := make(chan struct{}, 1)
	env := newTermEnv(t, func(r *terminalRoutes) {
		r.onScrollbackFull = func() {
			select {
			case stalled <- struct{}{}:
			default:
			}
		}
	})
	id := env.run(t, false, "sleep", "1000")
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	// Raw mode: the bytes arrive as yes wrote them, "y\n". (Through cat:
	// busybox's head writes a tty line by line.)
	c := env.dial(t, execPath(id, "?cmd=/bin/sh&cmd=-c&cmd="+url.QueryEscape("stty raw -echo; yes | head -c 52428800 | cat")))
	session := c.sessionID()
	const (
		total = 50 << 20
		every = 5 << 20  // the reader pauses before each such part...
		slack = 16 << 20 // ...while more is to come than the sockets' buffers hold
	)
	var received, ys, pauses int // ys: y's received
	for {
		if received >= pauses*every && received < total-slack {
			// Stop reading until the server has stopped too: its
			// scrollback is full and the process waits. The ring may
			// have filled (and said so) while we were still reading, so
			// its state, not only a new signal, tells.
			for deadline := time.Now().Add(hangGuard); env.routes.sessions.heldOf(t, session) < scrollbackSize; {
				if time.Now().After(deadline) {
					t.Fatalf("the output never stalled; %d bytes read", received)
				}
				select {
				case <-stalled:
				case <-time.After(10 * time.Millisecond):
				}
			}
			pauses++
			if held := env.routes.sessions.heldOf(t, session); held > scrollbackSize {
				t.Fatalf("the session holds %d bytes for the browser, more than its %d", held, scrollbackSize)
			}
			var now runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&now)
			if grown := int64(now.HeapAlloc) - int64(before.HeapAlloc); grown > 16<<20 {
				t.Fatalf("the heap grew by %d MB with %d MB read", grown>>20, received>>20)
			}
		}
		c.ws.SetReadDeadline(time.Now().Add(hangGuard))
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			t.Fatalf("after %d bytes: %v", received, err)
		}
		if kind == websocket.TextMessage {
			if string(data) != jsonOf(exitMessage(0)) {
				t.Fatalf("after %d bytes: %s, want the exit", received, data)
			}
			break
		}
		received += len(data)
		ys += bytes.Count(data, []byte("y"))
	}
	if received != total || ys != total/2 {
		t.Errorf("received %d bytes, %d of them y; want %d and %d", received, ys, total, total/2)
	}
	if pauses < 5 {
		t.Errorf("the reader paused %d times, want at least 5", pauses)
	}
}

func (s *execSessions) execIDOf(t testing.TB, id string) string {
	return s.lookup(t, id).execID
}

func (s *execSessions) heldOf(t testing.TB, id string) int {
	return s.lookup(t, id).out.held()
}

func (s *execSessions) lookup(t testing.TB, id string) *execSession {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.m[id]
	if sess == nil {
		t.Fatalf("no session %s", id)
	}
	return sess
}
