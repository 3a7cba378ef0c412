package monitor

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// The request socket's operations; doc.go describes each.
const (
	opInfo       = "info"
	opWait       = "wait"
	opSignal     = "signal"
	opResize     = "resize"
	opAttach     = "attach"
	opExec       = "exec"
	opExecResize = "exec-resize"
	opExecWait   = "exec-wait"
)

// request is the first line a client sends on a new connection.
type request struct {
	Op     string         `json:"op"`
	Attach *AttachOptions `json:"attach,omitempty"` // attach
	Rows   uint16         `json:"rows,omitempty"`   // resize, exec-resize
	Cols   uint16         `json:"cols,omitempty"`   // resize, exec-resize
	Signal int            `json:"signal,omitempty"` // signal
	Exec   *ExecConfig    `json:"exec,omitempty"`   // exec
	ExecID string         `json:"execId,omitempty"` // exec-resize, exec-wait
}

// reply is the monitor's answer line. Error is set when the request failed;
// otherwise the fields of the request's op are.
type reply struct {
	Error     *wireError `json:"error,omitempty"`
	Pid       int        `json:"pid,omitempty"`      // info (the init), exec (the exec'd process)
	StartedAt time.Time  `json:"startedAt,omitzero"` // info
	Tty       bool       `json:"tty,omitempty"`      // info
	Exit      *Exit      `json:"exit,omitempty"`     // wait; info, once exited
	ExecID    string     `json:"execId,omitempty"`   // exec
	ExitCode  int        `json:"exitCode,omitempty"` // exec-wait
}

// maxLine bounds a request or reply line (an exec request carries a whole
// environment).
const maxLine = 1 << 20

// writeLine sends v as one line of JSON.
func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// readLine reads one line of JSON into v. It reads nothing past the line:
// what follows may be a raw stream.
func readLine(r *bufio.Reader, v any) error {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLine {
			return fmt.Errorf("line longer than %d bytes", maxLine)
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return json.Unmarshal(line, v)
}

// syncMsg is a message on the socketpair between Start and the monitor it
// launched (SOCK_SEQPACKET: one message per packet).
type syncMsg struct {
	Type      string     `json:"type"`          // syncStarted, syncFailed, syncStandby (monitor → daemon); syncAssign, syncAck, syncRelease (daemon → monitor)
	Dir       string     `json:"dir,omitempty"` // syncAssign: the container's state directory
	Pid       int        `json:"pid,omitempty"`
	StartedAt time.Time  `json:"startedAt,omitzero"`
	Error     *wireError `json:"error,omitempty"`
}

const (
	syncStarted = "started"
	syncFailed  = "failed"
	syncAck     = "ack"
	// syncAssign gives a monitor on standby its container (see
	// KeepStandby), with its log as SCM_RIGHTS.
	syncAssign = "assign"
	// syncRelease lets go of a monitor started on standby whose container
	// has exited, keeping the socket open: the monitor finishes, then
	// goes on standby again and says so with syncStandby (see recycle).
	syncRelease = "release"
	syncStandby = "standby"
)

// Docker's stdcopy stream numbers, the first byte of a frame header.
const (
	streamStdout byte = 1
	streamStderr byte = 2
)

// frameHeaderLen is the size of a stdcopy frame header: the stream, three
// zero bytes, and the payload length as a big-endian uint32.
const frameHeaderLen = 8

// putFrameHeader writes the header of a frame of n payload bytes into h.
func putFrameHeader(h []byte, stream byte, n int) {
	h[0], h[1], h[2], h[3] = stream, 0, 0, 0
	binary.BigEndian.PutUint32(h[4:frameHeaderLen], uint32(n))
}

// frame returns p as one stdcopy frame of stream.
func frame(stream byte, p []byte) []byte {
	f := make([]byte, frameHeaderLen+len(p))
	putFrameHeader(f, stream, len(p))
	copy(f[frameHeaderLen:], p)
	return f
}
