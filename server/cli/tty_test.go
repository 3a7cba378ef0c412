package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// terminal is a pseudo-terminal standing for the user's: the CLI gets the
// slave as stdin and stdout, the test types on and reads the master.
type terminal struct {
	master, slave *os.File
	mu            sync.Mutex
	screen        bytes.Buffer
	signals       *fakeSignals
}

func newTerminal(t *testing.T, rows, cols uint16) *terminal {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal available: %v", err)
	}
	term := &terminal{master: master, slave: slave, signals: newFakeSignals()}
	term.resize(t, rows, cols)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			term.mu.Lock()
			term.screen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		// Closing the master first ends reads blocked on the slave.
		master.Close()
		slave.Close()
	})
	return term
}

// resize changes the terminal's size, as a window resize does.
func (term *terminal) resize(t *testing.T, rows, cols uint16) {
	t.Helper()
	if err := pty.Setsize(term.master, &pty.Winsize{Rows: rows, Cols: cols}); err != nil {
		t.Fatal(err)
	}
}

// resizeWindow resizes the terminal and delivers SIGWINCH to the session.
func (term *terminal) resizeWindow(t *testing.T, rows, cols uint16) {
	t.Helper()
	term.resize(t, rows, cols)
	eventually(t, "a SIGWINCH subscription", func() bool { return term.signals.subscribed(syscall.SIGWINCH) })
	term.signals.send(syscall.SIGWINCH)
}

func (term *terminal) typeKeys(t *testing.T, keys string) {
	t.Helper()
	if _, err := term.master.Write([]byte(keys)); err != nil {
		t.Fatal(err)
	}
}

func (term *terminal) output() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.screen.String()
}

// lflag is the slave's local mode flags (ECHO, ICANON, ...).
func (term *terminal) lflag(t *testing.T) uint32 {
	t.Helper()
	var lflag uint32
	if _, err := withFd(term.slave, func(fd int) error {
		termios, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err == nil {
			lflag = termios.Lflag
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return lflag
}

// isRaw reports whether the terminal is in raw mode: no echo, no line
// editing, no signal keys.
func (term *terminal) isRaw(t *testing.T) bool {
	return term.lflag(t)&(unix.ECHO|unix.ICANON|unix.ISIG) == 0
}

// start runs skiff with the terminal as stdin and stdout, returning the
// channel that delivers its exit code.
func (term *terminal) start(d *fakeDaemon, stderr *lockedBuffer, args ...string) <-chan int {
	cc := &cliContext{
		stdin:            term.slave,
		stdout:           term.slave,
		stderr:           stderr,
		stdinIsTerminal:  true,
		stdoutIsTerminal: true,
		now:              func() time.Time { return testNow },
		getenv:           func(key string) string { return map[string]string{envHost: d.host}[key] },
		version:          "1.2.3",
		notifySignals:    term.signals.notify,
		stopSignals:      term.signals.stop,
	}
	exit := make(chan int, 1)
	go func() { exit <- run(context.Background(), cc, args) }()
	return exit
}

// lockedBuffer is a bytes.Buffer safe for a concurrent writer and reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func waitExit(t *testing.T, exit <-chan int) int {
	t.Helper()
	select {
	case code := <-exit:
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("skiff did not exit")
		return -1
	}
}

// ttyDaemon serves a TTY container: the attach session shows a prompt and
// records everything the CLI sends until it closes the connection.
func ttyDaemon(t *testing.T, attachRoute string, typed chan<- string) *fakeDaemon {
	d := newFakeDaemon(t)
	d.answerJSON("POST /containers/create", http.StatusCreated, map[string]any{"Id": testID})
	d.handleHijack(attachRoute, rawStream, func(s hijackSession) {
		s.write("/ # ")
		typed <- s.readAll()
	})
	d.handleWait("POST /containers/"+testID+"/wait", nil) // the container runs on
	d.answerStatus("POST /containers/"+testID+"/start", http.StatusNoContent)
	d.answerStatus("POST /containers/"+testID+"/resize", http.StatusOK)
	d.answerStatus("POST /containers/"+testID+"/kill", http.StatusNoContent)
	return d
}

func TestRunInteractiveTTYDetach(t *testing.T) {
	tests := []struct {
		name       string
		flags      []string
		detach     string
		wantAttach string
	}{
		{name: "default keys", detach: "\x10\x11", wantAttach: "attach?stderr=1&stdin=1&stdout=1&stream=1"},
		{
			name: "custom keys", flags: []string{"--detach-keys", "ctrl-a,x"}, detach: "\x01x",
			wantAttach: "attach?detachKeys=ctrl-a%2Cx&stderr=1&stdin=1&stdout=1&stream=1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			term := newTerminal(t, 40, 120)
			typed := make(chan string, 1)
			d := ttyDaemon(t, "POST /containers/"+testID+"/attach", typed)
			before := term.lflag(t)
			var stderr lockedBuffer

			args := append(append([]string{"run", "-it"}, tt.flags...), "busybox", "sh")
			exit := term.start(d, &stderr, args...)

			eventually(t, "the initial resize", func() bool {
				return len(d.requestsTo("POST /containers/"+testID+"/resize")) == 1
			})
			if !term.isRaw(t) {
				t.Error("the terminal is not in raw mode during the session")
			}
			eventually(t, "the prompt", func() bool { return strings.Contains(term.output(), "/ # ") })
			// Partial sequences are passed on: ctrl-p alone is a key press.
			term.typeKeys(t, "ls\r\x10a")
			term.resizeWindow(t, 50, 100)
			eventually(t, "the resize to 50x100 and the forwarded SIGWINCH", func() bool {
				return len(d.requestsTo("POST /containers/"+testID+"/resize")) == 2 &&
					len(d.requestsTo("POST /containers/"+testID+"/kill")) == 1
			})
			term.typeKeys(t, tt.detach)

			if code := waitExit(t, exit); code != 0 {
				t.Errorf("exit code = %d, want 0 after detaching", code)
			}
			if got := <-typed; got != "ls\r\x10a" {
				t.Errorf("the container got %q, want the typed keys without the detach sequence", got)
			}
			if stderr.String() != "" {
				t.Errorf("stderr = %q, want nothing (run -it detaches silently)", stderr.String())
			}
			if after := term.lflag(t); after != before {
				t.Errorf("terminal flags after the run = %#x, want them restored to %#x", after, before)
			}
			calls := d.calls()
			if len(calls) == 7 {
				// The resize and the signal forwarding race on SIGWINCH.
				sort.Strings(calls[5:])
			}
			want := []string{
				"POST /containers/create",
				"POST /containers/" + testID + "/" + tt.wantAttach,
				"POST /containers/" + testID + "/wait?condition=next-exit",
				"POST /containers/" + testID + "/start",
				"POST /containers/" + testID + "/resize?h=40&w=120",
				// docker's sig-proxy forwards the SIGWINCH too.
				"POST /containers/" + testID + "/kill?signal=WINCH",
				"POST /containers/" + testID + "/resize?h=50&w=100",
			}
			if !reflect.DeepEqual(calls, want) {
				t.Errorf("requests =\n  %s\nwant\n  %s", strings.Join(calls, "\n  "), strings.Join(want, "\n  "))
			}
			for _, call := range calls {
				if strings.Contains(call, "/stop") || (strings.Contains(call, "/kill") && !strings.HasSuffix(call, "signal=WINCH")) {
					t.Errorf("detaching stopped the container: %s", call)
				}
			}
			var body struct{ HostConfig struct{ ConsoleSize []int } }
			mustUnmarshal(t, d.requestsTo("POST /containers/create")[0].Body, &body)
			if got := compactJSON(body.HostConfig.ConsoleSize); got != "[40,120]" {
				t.Errorf("ConsoleSize = %s, want the terminal's [40,120]", got)
			}
		})
	}
}

func TestRunInteractiveTTYExitRestoresTheTerminal(t *testing.T) {
	term := newTerminal(t, 24, 80)
	d := newFakeDaemon(t)
	d.answerJSON("POST /containers/create", http.StatusCreated, map[string]any{"Id": testID})
	exited := make(chan int, 1)
	d.handleHijack("POST /containers/"+testID+"/attach", rawStream, func(s hijackSession) {
		buf := make([]byte, 1)
		_, _ = io.ReadFull(s.stdin, buf) // the shell reads one key: ctrl-d
		s.write("exit\r\n")
		exited <- 3
	})
	d.handleWait("POST /containers/"+testID+"/wait", exited)
	d.answerStatus("POST /containers/"+testID+"/start", http.StatusNoContent)
	d.answerStatus("POST /containers/"+testID+"/resize", http.StatusOK)
	before := term.lflag(t)
	var stderr lockedBuffer

	exit := term.start(d, &stderr, "run", "-it", "--rm", "busybox", "sh")
	eventually(t, "raw mode", func() bool { return term.isRaw(t) })
	term.typeKeys(t, "\x04")

	if code := waitExit(t, exit); code != 3 {
		t.Errorf("exit code = %d, want the container's 3", code)
	}
	if after := term.lflag(t); after != before {
		t.Errorf("terminal flags = %#x, want them restored to %#x", after, before)
	}
	eventually(t, "the output", func() bool { return strings.Contains(term.output(), "exit\r\n") })
}

func TestAttachTTY(t *testing.T) {
	term := newTerminal(t, 40, 120)
	typed := make(chan string, 1)
	d := ttyDaemon(t, "POST /containers/web/attach", typed)
	d.handle("GET /containers/web/json", rawJSON(`{"Id":"`+testID+`","Name":"/web","Config":{"Tty":true,"OpenStdin":true},"State":{"Running":true,"Status":"running"}}`))
	d.handleWait("POST /containers/web/wait", nil)
	d.answerStatus("POST /containers/web/resize", http.StatusOK)
	before := term.lflag(t)
	var stderr lockedBuffer

	exit := term.start(d, &stderr, "attach", "web")
	eventually(t, "the prompt", func() bool { return strings.Contains(term.output(), "/ # ") })
	if !term.isRaw(t) {
		t.Error("the terminal is not in raw mode during the session")
	}
	term.typeKeys(t, "echo\r")
	term.typeKeys(t, "\x10\x11")

	// docker attach reports the detach as an error: exit status 1.
	if code := waitExit(t, exit); code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if got := stderr.String(); got != "read escape sequence\n" {
		t.Errorf("stderr = %q, want docker's detach message", got)
	}
	if got := <-typed; got != "echo\r" {
		t.Errorf("the container got %q", got)
	}
	if after := term.lflag(t); after != before {
		t.Errorf("terminal flags = %#x, want them restored to %#x", after, before)
	}
	expectRoutes(t, d,
		"POST /containers/web/wait",
		"GET /containers/web/json",
		"POST /containers/web/attach?stderr=1&stdin=1&stdout=1&stream=1",
		"GET /containers/web/json",
		"POST /containers/web/resize?h=41&w=121",
		"POST /containers/web/resize?h=40&w=120",
	)
}

func TestStartInteractiveTTY(t *testing.T) {
	term := newTerminal(t, 40, 120)
	typed := make(chan string, 1)
	d := ttyDaemon(t, "POST /containers/"+testID+"/attach", typed)
	d.handle("GET /containers/web/json", rawJSON(`{"Id":"`+testID+`","Name":"/web","Config":{"Tty":true,"OpenStdin":true},"HostConfig":{},"State":{"Running":false,"Status":"exited"}}`))
	var stderr lockedBuffer

	exit := term.start(d, &stderr, "start", "-i", "web")
	eventually(t, "the resize", func() bool { return len(d.requestsTo("POST /containers/"+testID+"/resize")) == 1 })
	term.typeKeys(t, "ls\r\x10\x11")

	if code := waitExit(t, exit); code != 0 {
		t.Errorf("exit code = %d, want 0 after detaching", code)
	}
	if got := <-typed; got != "ls\r" {
		t.Errorf("the container got %q", got)
	}
	expectRoutes(t, d,
		"GET /containers/web/json",
		"POST /containers/"+testID+"/attach?stderr=1&stdin=1&stdout=1&stream=1",
		"POST /containers/"+testID+"/wait?condition=next-exit",
		"POST /containers/"+testID+"/start",
		"POST /containers/"+testID+"/resize?h=40&w=120",
	)
	if stderr.String() != "" {
		t.Errorf("stderr = %q", stderr.String())
	}
}

func TestExecInteractiveTTY(t *testing.T) {
	term := newTerminal(t, 40, 120)
	d := newFakeDaemon(t)
	d.handle("GET /containers/web/json", rawJSON(`{"Id":"`+testID+`","Config":{"Tty":false},"State":{"Running":true}}`))
	d.answerJSON("POST /containers/web/exec", http.StatusCreated, map[string]string{"Id": "e1"})
	typed := make(chan string, 1)
	d.handleHijack("POST /exec/e1/start", rawStream, func(s hijackSession) {
		s.write("# ")
		line := make([]byte, 5)
		_, _ = io.ReadFull(s.stdin, line)
		typed <- string(line)
		s.write("bye\r\n")
	})
	d.answerStatus("POST /exec/e1/resize", http.StatusOK)
	d.answerJSON("GET /exec/e1/json", http.StatusOK, map[string]any{"ID": "e1", "Running": false, "ExitCode": 5})
	var stderr lockedBuffer

	exit := term.start(d, &stderr, "exec", "-it", "-w", "/tmp", "-u", "nobody", "-e", "A=1", "web", "sh")
	eventually(t, "the prompt", func() bool { return strings.Contains(term.output(), "# ") })
	term.typeKeys(t, "exit\r")

	if code := waitExit(t, exit); code != 5 {
		t.Errorf("exit code = %d, want the exec's 5", code)
	}
	if got := <-typed; got != "exit\r" {
		t.Errorf("the exec got %q", got)
	}
	expectRoutes(t, d,
		"GET /containers/web/json",
		"POST /containers/web/exec",
		"POST /exec/e1/start",
		"POST /exec/e1/resize?h=40&w=120",
		"GET /exec/e1/json",
	)
	// docker 28's body, less "Detach":false, which the moby API types no
	// longer carry (the daemon never read it at exec create).
	expectJSONBody(t, d.requestsTo("POST /containers/web/exec")[0].Body,
		`{"User":"nobody","Privileged":false,"Tty":true,"ConsoleSize":[40,120],"AttachStdin":true,"AttachStderr":true,"AttachStdout":true,"DetachKeys":"","Env":["A=1"],"WorkingDir":"/tmp","Cmd":["sh"]}`)
	expectJSONBody(t, d.requestsTo("POST /exec/e1/start")[0].Body, `{"Detach":false,"Tty":true,"ConsoleSize":[40,120]}`)
}

// expectJSONBody compares a request body with want, as JSON values.
func expectJSONBody(t *testing.T, body []byte, want string) {
	t.Helper()
	var got, expected any
	mustUnmarshal(t, body, &got)
	mustUnmarshal(t, []byte(want), &expected)
	var diffs []string
	diffJSON("", got, expected, &diffs)
	if len(diffs) > 0 {
		t.Errorf("body %s differs:\n  %s", body, strings.Join(diffs, "\n  "))
	}
}
