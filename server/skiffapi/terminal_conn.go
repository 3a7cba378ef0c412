package skiffapi

import (
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// heartbeat is how a terminal's websocket tells a live peer from a dead
// one: the server pings every period, so that proxies see traffic on an idle
// terminal, and drops a peer that answered no ping, or accepted no output,
// for timeout. An exec session outlives that drop (see sessionGrace).
type heartbeat struct {
	period, timeout time.Duration
}

var defaultHeartbeat = heartbeat{period: 20 * time.Second, timeout: 60 * time.Second}

const (
	// outputChunk is the most output one binary frame carries.
	outputChunk = 32 << 10
	// maxInputMessage bounds one frame from the browser: a paste.
	maxInputMessage = 1 << 20
)

var terminalUpgrader = websocket.Upgrader{
	CheckOrigin:     sameOrigin,
	WriteBufferSize: outputChunk, // a chunk of output goes out as one frame
}

// serverMessage is a control message to the browser, a text frame.
type serverMessage struct {
	Type    string `json:"type"`
	ID      string `json:"id,omitempty"`      // "session"
	Code    *int   `json:"code,omitempty"`    // "exit"
	Message string `json:"message,omitempty"` // "error"
}

func sessionMessage(id string) serverMessage { return serverMessage{Type: "session", ID: id} }
func exitMessage(code int) serverMessage     { return serverMessage{Type: "exit", Code: &code} }
func errorMessage(msg string) serverMessage  { return serverMessage{Type: "error", Message: msg} }

var detachedMessage = serverMessage{Type: "detached"}

// clientMessage is a control message from the browser.
type clientMessage struct {
	Type string `json:"type"`
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
}

var errConnClosing = errors.New("the terminal's websocket is closing")

// Reasons of the close frames that end a terminal from the server's side.
const (
	daemonStopping = "the daemon is stopping"
	loginEnded     = "the login session ended"
)

// termConn is a terminal's websocket: binary frames carry the terminal's
// bytes both ways, text frames control messages. It pings the peer every
// heartbeat period and drops it after the timeout without an answer.
//
// One goroutine reads (pumpInput); writes from any goroutine are
// serialised.
type termConn struct {
	ws *websocket.Conn
	hb heartbeat

	wmu     sync.Mutex
	closing bool // a close frame went out: nothing may follow it

	gone     chan struct{} // closed when reading ends: the peer closed or went away
	peerCode int           // the peer's close code (CloseAbnormalClosure if none), set before gone
}

func newTermConn(ws *websocket.Conn, hb heartbeat) *termConn {
	tc := &termConn{ws: ws, hb: hb, gone: make(chan struct{}), peerCode: websocket.CloseAbnormalClosure}
	ws.SetReadLimit(maxInputMessage)
	tc.heard()
	ws.SetPongHandler(func(string) error { return tc.heard() })
	go tc.ping()
	return tc
}

// heard notes a sign of life from the peer: it has timeout for the next.
func (tc *termConn) heard() error {
	return tc.ws.SetReadDeadline(time.Now().Add(tc.hb.timeout))
}

// ping pings the peer until it is gone.
func (tc *termConn) ping() {
	t := time.NewTicker(tc.hb.period)
	defer t.Stop()
	for {
		select {
		case <-tc.gone:
			return
		case <-t.C:
			if tc.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)) != nil {
				return // the reader notices the broken connection
			}
		}
	}
}

// pumpInput copies the terminal's input into dst, through wrap if not nil,
// and hands resize messages to resize, until the peer closes or goes away;
// then gone is closed. When dst fails or the wrapped input ends (a detach),
// input is still read, and dropped, so that pongs and the peer's close
// frame are seen.
func (tc *termConn) pumpInput(dst io.Writer, wrap func(io.Reader) io.Reader, resize func(rows, cols uint16)) {
	in := &inputReader{tc: tc, resize: resize}
	defer func() {
		var ce *websocket.CloseError
		if errors.As(in.err, &ce) {
			tc.peerCode = ce.Code
		}
		close(tc.gone)
	}()
	var src io.Reader = in
	if wrap != nil {
		src = wrap(in)
	}
	io.Copy(dst, src)
	io.Copy(io.Discard, in)
}

// peerCloseCode is the close code the peer sent, CloseAbnormalClosure if
// it sent none or is still there.
func (tc *termConn) peerCloseCode() int {
	select {
	case <-tc.gone:
		return tc.peerCode
	default:
		return websocket.CloseAbnormalClosure
	}
}

// sendOutput sends terminal bytes in a binary frame.
func (tc *termConn) sendOutput(p []byte) error {
	return tc.write(websocket.BinaryMessage, p)
}

// sendMessage sends a control message in a text frame.
func (tc *termConn) sendMessage(m serverMessage) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return tc.write(websocket.TextMessage, data)
}

func (tc *termConn) write(kind int, p []byte) error {
	tc.wmu.Lock()
	defer tc.wmu.Unlock()
	if tc.closing {
		return errConnClosing
	}
	// A browser that takes nothing for the heartbeat's timeout is gone; one
	// that is merely slow makes this wait, and the output's source with it.
	if err := tc.ws.SetWriteDeadline(time.Now().Add(tc.hb.timeout)); err != nil {
		return err
	}
	return tc.ws.WriteMessage(kind, p)
}

// close sends a close frame and waits a moment for the peer's answer; the
// caller then releases the connection.
func (tc *termConn) close(code int, reason string) {
	tc.wmu.Lock()
	tc.closing = true
	tc.wmu.Unlock()
	msg := websocket.FormatCloseMessage(code, reason)
	if tc.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(writeWait)) != nil {
		return
	}
	select {
	case <-tc.gone:
	case <-time.After(closeWait):
	}
}

// inputReader reads the payloads of the peer's binary frames as one byte
// stream, handling the text frames met on the way.
type inputReader struct {
	tc     *termConn
	resize func(rows, cols uint16)
	frame  io.Reader // the binary frame being read
	err    error     // once reading failed: the connection is over
}

func (r *inputReader) Read(p []byte) (int, error) {
	for r.err == nil {
		if r.frame != nil {
			n, err := r.frame.Read(p)
			if err == io.EOF {
				r.frame = nil
				err = nil
			}
			if n > 0 || err != nil {
				r.err = err
				return n, err
			}
			continue
		}
		kind, frame, err := r.tc.ws.NextReader()
		if err != nil {
			r.err = err
			break
		}
		r.tc.heard() // any message shows the peer is there, as a pong does
		switch kind {
		case websocket.BinaryMessage:
			r.frame = frame
		case websocket.TextMessage:
			r.control(frame)
		}
	}
	return 0, r.err
}

// control acts on a control message. What it does not understand it
// ignores: a newer page may send more than this server knows.
func (r *inputReader) control(frame io.Reader) {
	var m clientMessage
	if json.NewDecoder(frame).Decode(&m) != nil {
		return
	}
	if m.Type == "resize" && m.Rows > 0 && m.Cols > 0 && r.resize != nil {
		r.resize(m.Rows, m.Cols)
	}
}
