package cli

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The fake daemon's side of the streaming endpoints: hijacked attach and
// exec sessions, waits that flush their headers before blocking, and the
// signals a CLI session subscribes to.

// Media types of hijacked streams.
const (
	rawStream         = "application/vnd.docker.raw-stream"
	multiplexedStream = "application/vnd.docker.multiplexed-stream"
)

// hijackSession is the daemon's end of an attach or exec connection:
// writes go to the CLI, stdin reads what the CLI sends.
type hijackSession struct {
	conn  net.Conn
	stdin *bufio.Reader
}

// handleHijack answers route as moby does an attach or exec start:
// HTTP/1.1 101 UPGRADED with contentType, then a raw duplex stream served
// by session; the connection is closed when session returns.
func (d *fakeDaemon) handleHijack(route, contentType string, session func(s hijackSession)) {
	d.handle(route, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "tcp" || r.Header.Get("Connection") != "Upgrade" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "not an upgrade request"})
			return
		}
		conn, buffered, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", contentType)
		session(hijackSession{conn: conn, stdin: buffered.Reader})
	})
}

// write sends bytes as they are (a TTY's raw stream).
func (s hijackSession) write(text string) {
	_, _ = io.WriteString(s.conn, text)
}

// frame sends one stdcopy frame: stream 1 is stdout, 2 stderr, 3 systemerr.
func (s hijackSession) frame(stream byte, payload string) {
	_, _ = s.conn.Write(stdcopyFrame(stream, payload))
}

// readAll reads stdin until the CLI half-closes or closes the connection.
func (s hijackSession) readAll() string {
	data, _ := io.ReadAll(s.stdin)
	return string(data)
}

func stdcopyFrame(stream byte, payload string) []byte {
	header := make([]byte, 8, 8+len(payload))
	header[0] = stream
	binary.BigEndian.PutUint32(header[4:], uint32(len(payload)))
	return append(header, payload...)
}

// handleWait answers route as moby's wait: 200 headers flushed at once,
// then {"StatusCode":N} once exit delivers N. The CLI calls wait before
// start and blocks until the headers arrive.
func (d *fakeDaemon) handleWait(route string, exit <-chan int) {
	d.handle(route, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush()
		select {
		case code := <-exit:
			_ = json.NewEncoder(w).Encode(map[string]any{"StatusCode": code})
		case <-r.Context().Done():
		}
	})
}

// answerStatus makes route answer an empty body with status.
func (d *fakeDaemon) answerStatus(route string, status int) {
	d.handle(route, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
	})
}

// calls lists "METHOD /path?query" for the requests received, pings
// excluded, with the query keys sorted as the client sends them.
func (d *fakeDaemon) calls() []string {
	var routes []string
	for _, r := range d.received() {
		route := r.Method + " " + r.Path
		if _, query, found := strings.Cut(r.URL, "?"); found {
			route += "?" + query
		}
		routes = append(routes, route)
	}
	return routes
}

// requestsTo returns the requests received for "METHOD /path".
func (d *fakeDaemon) requestsTo(route string) []recordedRequest {
	var found []recordedRequest
	for _, r := range d.received() {
		if r.Method+" "+r.Path == route {
			found = append(found, r)
		}
	}
	return found
}

// eventually polls cond for up to five seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// expectRoutes compares the requests received with want, in order.
func expectRoutes(t *testing.T, d *fakeDaemon, want ...string) {
	t.Helper()
	if got := d.calls(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// fakeSignals stands for the process's signal delivery: CLI sessions
// subscribe through it, and tests deliver signals to the subscribers.
type fakeSignals struct {
	mu          sync.Mutex
	subscribers map[chan<- os.Signal][]os.Signal // nil list: every signal
}

func newFakeSignals() *fakeSignals {
	return &fakeSignals{subscribers: map[chan<- os.Signal][]os.Signal{}}
}

// notify adds sig to c's subscription, as signal.Notify does; no signal
// at all subscribes c to every one.
func (f *fakeSignals) notify(c chan<- os.Signal, sig ...os.Signal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if prior, ok := f.subscribers[c]; ok && (len(prior) == 0 || len(sig) == 0) {
		f.subscribers[c] = nil // every signal
		return
	}
	f.subscribers[c] = append(f.subscribers[c], sig...)
}

func (f *fakeSignals) stop(c chan<- os.Signal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.subscribers, c)
}

// subscribed reports whether someone listens for sig.
func (f *fakeSignals) subscribed(sig os.Signal) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, sigs := range f.subscribers {
		if len(sigs) == 0 || containsSignal(sigs, sig) {
			return true
		}
	}
	return false
}

// send delivers sig to its subscribers, as the kernel would.
func (f *fakeSignals) send(sig syscall.Signal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c, sigs := range f.subscribers {
		if len(sigs) == 0 || containsSignal(sigs, sig) {
			select {
			case c <- sig:
			default:
			}
		}
	}
}

func containsSignal(sigs []os.Signal, sig os.Signal) bool {
	for _, s := range sigs {
		if s == sig {
			return true
		}
	}
	return false
}

// expectJSONFile compares a request body with the JSON of a testdata file,
// ignoring the fields listed in skip (dotted paths).
func expectJSONFile(t *testing.T, body []byte, file string, skip ...string) {
	t.Helper()
	wantData, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("request body is not JSON: %v\n%s", err, body)
	}
	if err := json.Unmarshal(wantData, &want); err != nil {
		t.Fatal(err)
	}
	for _, path := range skip {
		deletePath(got, path)
		deletePath(want, path)
	}
	var diffs []string
	diffJSON("", got, want, &diffs)
	if len(diffs) > 0 {
		sort.Strings(diffs)
		t.Errorf("body differs from %s:\n  %s", file, strings.Join(diffs, "\n  "))
	}
}

func deletePath(v any, path string) {
	head, rest, nested := strings.Cut(path, ".")
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if nested {
		deletePath(m[head], rest)
		return
	}
	delete(m, head)
}

func diffJSON(path string, got, want any, diffs *[]string) {
	gotMap, gotIsMap := got.(map[string]any)
	wantMap, wantIsMap := want.(map[string]any)
	if gotIsMap && wantIsMap {
		for key := range wantMap {
			if _, ok := gotMap[key]; !ok {
				*diffs = append(*diffs, fmt.Sprintf("%s.%s missing (want %s)", path, key, compactJSON(wantMap[key])))
			}
		}
		for key, value := range gotMap {
			if _, ok := wantMap[key]; !ok {
				*diffs = append(*diffs, fmt.Sprintf("%s.%s unexpected (%s)", path, key, compactJSON(value)))
				continue
			}
			diffJSON(path+"."+key, value, wantMap[key], diffs)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		*diffs = append(*diffs, fmt.Sprintf("%s = %s, want %s", path, compactJSON(got), compactJSON(want)))
	}
}

func compactJSON(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}

func mustUnmarshal(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
}

// runWithSignals runs skiff with signals delivered through signals.
func (c testCLI) runWithSignals(t *testing.T, signals *fakeSignals, args ...string) cliResult {
	t.Helper()
	c.signals = signals
	return c.run(t, args...)
}
