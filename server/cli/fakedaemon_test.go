package cli

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
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the clock of every test run, so ages render predictably.
var testNow = time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)

// ago returns the unix time d before testNow.
func ago(d time.Duration) int64 { return testNow.Add(-d).Unix() }

// fakeDaemon answers the Engine API with canned responses, as `skiff serve`
// would, and records every request it receives.
type fakeDaemon struct {
	host string // how the CLI reaches it: unix:///… or tcp://…

	mu       sync.Mutex
	routes   map[string]http.HandlerFunc // "METHOD /path", without /vX.Y
	requests []recordedRequest
}

type recordedRequest struct {
	Method string
	Path   string // without the /vX.Y prefix
	URL    string // as received, prefix and query included
	Query  map[string][]string
	Header http.Header
	Body   []byte
}

// newFakeDaemon serves on a unix socket in a temporary directory.
func newFakeDaemon(t *testing.T) *fakeDaemon {
	t.Helper()
	socket := filepath.Join(shortTempDir(t), "d.sock")
	listener, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatalf("listening on %s: %v", socket, err)
	}
	d := &fakeDaemon{host: "unix://" + socket, routes: map[string]http.HandlerFunc{}}
	server := httptest.NewUnstartedServer(d)
	server.Listener = listener
	server.Start()
	t.Cleanup(func() { closeServer(server) })
	return d
}

// newFakeTCPDaemon serves on a loopback TCP port.
func newFakeTCPDaemon(t *testing.T) *fakeDaemon {
	t.Helper()
	d := &fakeDaemon{routes: map[string]http.HandlerFunc{}}
	server := httptest.NewServer(d)
	t.Cleanup(func() { closeServer(server) })
	d.host = "tcp://" + server.Listener.Addr().String()
	return d
}

// closeServer ends the fake daemon's requests before it waits for them: a
// test that failed may leave the CLI it ran waiting on one (a wait for a
// container's exit), and Close alone would wait for it forever.
func closeServer(server *httptest.Server) {
	server.CloseClientConnections()
	server.Close()
}

// shortTempDir is t.TempDir, unless its path is too long for a unix socket.
func shortTempDir(t *testing.T) string {
	dir := t.TempDir()
	if len(dir) < 90 {
		return dir
	}
	dir, err := os.MkdirTemp("", "skiffcli")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

var apiVersionPrefix = regexp.MustCompile(`^/v[0-9]+\.[0-9]+/`)

func (d *fakeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := apiVersionPrefix.ReplaceAllString(r.URL.Path, "/")
	d.mu.Lock()
	d.requests = append(d.requests, recordedRequest{
		Method: r.Method,
		Path:   path,
		URL:    r.URL.String(),
		Query:  r.URL.Query(),
		Header: r.Header.Clone(),
		Body:   body,
	})
	handler, found := d.routes[r.Method+" "+path]
	d.mu.Unlock()

	w.Header().Set("Api-Version", "1.50")
	w.Header().Set("Ostype", "linux")
	switch {
	case found:
		handler(w, r)
	case path == "/_ping":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "OK")
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "page not found"})
	}
}

// handle routes "METHOD /path" (no version prefix) to h.
func (d *fakeDaemon) handle(route string, h http.HandlerFunc) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.routes[route] = h
}

// answerJSON makes route answer status with body encoded as JSON.
func (d *fakeDaemon) answerJSON(route string, status int, body any) {
	d.handle(route, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, status, body)
	})
}

// answerError makes route fail with a daemon error message.
func (d *fakeDaemon) answerError(route string, status int, message string) {
	d.answerJSON(route, status, map[string]string{"message": message})
}

// answerStream makes route answer a JSON message stream, one message a line.
func (d *fakeDaemon) answerStream(route string, messages ...string) {
	d.handle(route, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for _, msg := range messages {
			_, _ = io.WriteString(w, msg+"\r\n")
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// received returns the requests made so far, pings excluded.
func (d *fakeDaemon) received() []recordedRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	var requests []recordedRequest
	for _, r := range d.requests {
		if r.Path != "/_ping" {
			requests = append(requests, r)
		}
	}
	return requests
}

// allReceived returns every request made so far, pings included.
func (d *fakeDaemon) allReceived() []recordedRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]recordedRequest(nil), d.requests...)
}

// lastRequest returns the latest non-ping request, failing the test if none.
func (d *fakeDaemon) lastRequest(t *testing.T) recordedRequest {
	t.Helper()
	requests := d.received()
	if len(requests) == 0 {
		t.Fatal("the daemon received no request")
	}
	return requests[len(requests)-1]
}

// cli returns a test command line pointed at this daemon.
func (d *fakeDaemon) cli() testCLI {
	return testCLI{env: map[string]string{envHost: d.host}}
}

// testCLI runs skiff in-process with captured streams and a fixed clock.
type testCLI struct {
	env              map[string]string
	stdin            io.Reader
	stdinIsTerminal  bool
	stdoutIsTerminal bool
	signals          *fakeSignals // nil: a fresh one, so tests never subscribe to the process's signals
}

type cliResult struct {
	stdout string
	stderr string
	code   int
}

func (c testCLI) withEnv(key, value string) testCLI {
	env := map[string]string{key: value}
	for k, v := range c.env {
		if k != key {
			env[k] = v
		}
	}
	c.env = env
	return c
}

func (c testCLI) run(t *testing.T, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.runContext(ctx, args...)
}

// runContext runs skiff under ctx, standing for the signal context of Main.
func (c testCLI) runContext(ctx context.Context, args ...string) cliResult {
	var stdout, stderr bytes.Buffer
	stdin := c.stdin
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	cc := &cliContext{
		stdin:            stdin,
		stdout:           &stdout,
		stderr:           &stderr,
		stdinIsTerminal:  c.stdinIsTerminal,
		stdoutIsTerminal: c.stdoutIsTerminal,
		now:              func() time.Time { return testNow },
		getenv:           func(key string) string { return c.env[key] },
		version:          "1.2.3",
	}
	signals := c.signals
	if signals == nil {
		signals = newFakeSignals()
	}
	cc.notifySignals, cc.stopSignals = signals.notify, signals.stop
	code := run(ctx, cc, args)
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// expectSuccess fails the test unless the run exited 0 with nothing on stderr.
func (r cliResult) expectSuccess(t *testing.T) {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit code %d, stderr:\n%s", r.code, r.stderr)
	}
}

// expectExit fails the test unless the run exited with code and printed
// exactly stderr.
func (r cliResult) expectExit(t *testing.T, code int, stderr string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code = %d, want %d", r.code, code)
	}
	if r.stderr != stderr {
		t.Errorf("stderr =\n%q\nwant\n%q", r.stderr, stderr)
	}
}

// expectOutput compares stdout with a golden string, showing both on failure.
func expectOutput(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("output =\n%s\nwant\n%s\n(quoted: %q)", got, want, got)
	}
}

// sha builds a full image ID from one repeated hex digit.
func sha(digit string) string { return "sha256:" + strings.Repeat(digit, 64) }
