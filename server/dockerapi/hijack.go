package dockerapi

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/engine"
)

// Content types of attach, exec and logs streams: raw bytes for a TTY,
// stdcopy frames without one (API 1.42 and later name them so).
const (
	rawStream         = "application/vnd.docker.raw-stream"
	multiplexedStream = "application/vnd.docker.multiplexed-stream"
)

func streamType(c echo.Context, tty bool) string {
	if !tty && compareVersions(apiVersion(c), "1.42") >= 0 {
		return multiplexedStream
	}
	return rawStream
}

func apiVersion(c echo.Context) string {
	if v, ok := c.Get(VersionKey).(string); ok {
		return v
	}
	return MaxAPIVersion
}

// hijack takes over the client's connection as Docker does for attach and
// exec: "101 UPGRADED" when the client asked to upgrade, else a plain 200,
// then raw duplex bytes. Bytes the client sent ahead sit in the returned
// reader.
func hijack(c echo.Context, contentType string) (net.Conn, *bufio.Reader, error) {
	conn, rw, err := http.NewResponseController(c.Response().Writer).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("take over the connection: %w", err)
	}
	c.Response().Committed = true
	status := "HTTP/1.1 200 OK\r\n"
	if strings.EqualFold(c.Request().Header.Get("Upgrade"), "tcp") {
		status = "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
	}
	if _, err := fmt.Fprintf(conn, "%sContent-Type: %s\r\nApi-Version: %s\r\n\r\n", status, contentType, MaxAPIVersion); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, rw.Reader, nil
}

// pipeSession copies a session both ways until its output ends: client
// input to the session's stdin (ending it on the client's half-close, or
// detaching on the detach keys for a TTY), and the session's output to the
// client. The connection is closed when the output ends or the client
// detaches; the container goes on running. When the output ends,
// outputEnded (if not nil) runs before the client reads the end of the
// stream: the docker CLI asks for an exec's exit code as soon as it does.
func pipeSession(conn net.Conn, in io.Reader, stream *engine.Stream, stdin, tty bool, detachKeys []byte, outputEnded func()) {
	defer conn.Close()
	detached := make(chan struct{})
	var once sync.Once
	if stdin {
		go func() {
			var src io.Reader = in
			if tty && len(detachKeys) > 0 {
				src = &detachReader{r: in, keys: detachKeys, onDetach: func() { once.Do(func() { close(detached) }) }}
			}
			io.Copy(stream, src)
			stream.CloseWrite()
		}()
	}
	copied := make(chan struct{})
	go func() {
		io.Copy(conn, stream)
		close(copied)
	}()
	select {
	case <-copied:
		if outputEnded != nil {
			outputEnded()
		}
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	case <-detached:
	}
	stream.Close()
}

// detachReader passes input through until it sees the detach key sequence
// (ctrl-p ctrl-q by default), then ends as if the client had closed its
// input. A partial match is held back until it completes or fails.
type detachReader struct {
	r        io.Reader
	keys     []byte
	matched  int
	pending  []byte
	onDetach func()
	done     bool
}

func (d *detachReader) Read(p []byte) (int, error) {
	if len(d.pending) > 0 {
		n := copy(p, d.pending)
		d.pending = d.pending[n:]
		return n, nil
	}
	if d.done {
		return 0, io.EOF
	}
	buf := make([]byte, len(p))
	n, err := d.r.Read(buf)
	var out bytes.Buffer
	for _, b := range buf[:n] {
		if b == d.keys[d.matched] {
			d.matched++
			if d.matched == len(d.keys) {
				d.done = true
				d.onDetach()
				break
			}
			continue
		}
		if d.matched > 0 {
			out.Write(d.keys[:d.matched])
			d.matched = 0
		}
		if b == d.keys[0] {
			d.matched = 1
			continue
		}
		out.WriteByte(b)
	}
	d.pending = out.Bytes()
	m := copy(p, d.pending)
	d.pending = d.pending[m:]
	if d.done && m == 0 {
		return 0, io.EOF
	}
	if err != nil && m == 0 {
		return 0, err
	}
	return m, nil
}

// parseDetachKeys reads docker's --detach-keys syntax: "ctrl-p,ctrl-q",
// single characters, comma separated.
func parseDetachKeys(spec string) ([]byte, error) {
	if spec == "" {
		return []byte{0x10, 0x11}, nil
	}
	var keys []byte
	for _, k := range strings.Split(spec, ",") {
		switch {
		case len(k) == 1:
			keys = append(keys, k[0])
		case strings.HasPrefix(strings.ToLower(k), "ctrl-") && len(k) == 6:
			c := k[5]
			switch {
			case c >= 'a' && c <= 'z':
				keys = append(keys, c-'a'+1)
			case c == '@':
				keys = append(keys, 0)
			case c >= '[' && c <= '_':
				keys = append(keys, c-'['+27)
			default:
				return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid detach keys (%s)", spec))
			}
		default:
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid detach keys (%s)", spec))
		}
	}
	return keys, nil
}

// POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1
func (r *containerRoutes) attach(c echo.Context) error {
	ctx := c.Request().Context()
	ctr, err := r.b.ContainerInspect(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	keys, err := parseDetachKeys(c.QueryParam("detachKeys"))
	if err != nil {
		return err
	}
	// The client is answered once the attach is in place, never before:
	// docker run starts the container as soon as it has the answer, and
	// an attach registered after that start would miss the output before
	// it. For a container not running yet, the attach is in place when it
	// waits for the start (Waiting); for a running one, when it returns.
	var (
		conn      net.Conn
		in        *bufio.Reader
		hijackErr error
		hijacked  bool
	)
	answer := func() {
		hijacked = true
		conn, in, hijackErr = hijack(c, streamType(c, ctr.Config.Tty))
	}
	opts := engine.ContainerAttachOptions{
		Stdin: boolParam(c, "stdin"), Stdout: boolParam(c, "stdout"), Stderr: boolParam(c, "stderr"),
		Waiting: answer, // called, if at all, by ContainerAttach's goroutine: this one
	}
	stream, err := r.b.ContainerAttach(ctx, ctr.ID, opts)
	if !hijacked {
		if err != nil {
			return err // still a plain HTTP error
		}
		answer()
	}
	if hijackErr != nil {
		if stream != nil {
			stream.Close()
		}
		return hijackErr
	}
	if err != nil {
		fmt.Fprintf(conn, "error attaching: %v\n", err)
		conn.Close()
		return nil
	}
	pipeSession(conn, in, stream, opts.Stdin, ctr.Config.Tty, keys, nil)
	return nil
}
