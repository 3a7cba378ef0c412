package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// msgType names a message of the sync protocol (see the package
// documentation for who sends which, and when).
type msgType string

const (
	// msgSpec (parent → role) carries the Spec or ExecSpec. Answered by
	// msgCreated.
	msgSpec msgType = "spec"
	// msgCreated (role → parent): the role runs in its namespaces and waits
	// for msgResume while the parent runs Hooks.Created.
	msgCreated msgType = "created"
	// msgResume (parent → role): build the container and exec. Answered by
	// msgExec, then EOF; or by msgError. It carries the cgroup files of
	// Hooks.Join, if any (SCM_RIGHTS).
	msgResume msgType = "resume"
	// msgConsole (role → parent) carries the master of a pty allocated in
	// the container's /dev/pts (SCM_RIGHTS); sent only in console mode.
	msgConsole msgType = "console"
	// msgExec (role → parent): everything is set up, execve is next. The
	// socket is O_CLOEXEC, so the EOF that follows means execve succeeded;
	// an EOF without msgExec means the role died during setup.
	msgExec msgType = "exec"
	// msgError (role → parent) carries why the role failed; it exits next.
	msgError msgType = "error"
)

// message is one datagram of the sync protocol: a JSON object whose type
// field says which of the other fields is set, then, in msgSpec, a newline
// and the spec's JSON. The spec travels beside the object rather than in
// it: embedded, encoding/json would scan its several kilobytes (a seccomp
// program among them) once more at each end.
type message struct {
	Type msgType `json:"type"`
	// Spec and Console are set in msgSpec: Console asks the role to
	// allocate the process's pty (see Stdio). Stdio says the message
	// carries the process's fds 0, 1 and 2 (SCM_RIGHTS): a prestarted init
	// was born without them (see Prestarted).
	Spec    json.RawMessage `json:"-"`
	Console bool            `json:"console,omitempty"`
	Stdio   bool            `json:"stdio,omitempty"`
	Error   *wireError      `json:"error,omitempty"`
}

// wireError is an error crossing the sync socket: its text and its
// errdefs class, so that the caller of Start can tell "command not found"
// (exit 127 in the CLI) from "permission denied" (126) and the rest.
type wireError struct {
	Class   string `json:"class,omitempty"`
	Message string `json:"message"`
}

// The errdefs classes a wireError can carry; anything else is unknown.
const (
	classNotFound         = "not-found"
	classPermissionDenied = "permission-denied"
	classInvalidArgument  = "invalid-argument"
)

func newWireError(err error) *wireError {
	w := &wireError{Message: err.Error()}
	switch {
	case errdefs.IsNotFound(err):
		w.Class = classNotFound
	case errdefs.IsPermissionDenied(err):
		w.Class = classPermissionDenied
	case errdefs.IsInvalidArgument(err):
		w.Class = classInvalidArgument
	}
	return w
}

// err rebuilds the error on the parent's side, with the same text and
// class.
func (w *wireError) err() error {
	switch w.Class {
	case classNotFound:
		return errdefs.ErrNotFound.WithMessage(w.Message)
	case classPermissionDenied:
		return errdefs.ErrPermissionDenied.WithMessage(w.Message)
	case classInvalidArgument:
		return errdefs.ErrInvalidArgument.WithMessage(w.Message)
	}
	return errors.New(w.Message)
}

// maxMsgFds is the most descriptors a message carries: stdio's three in
// msgSpec, one per v1 cgroup hierarchy in msgResume (Hooks.Join).
const maxMsgFds = 16

// syncConn is one end of a parent ↔ role socketpair (SOCK_SEQPACKET: each
// message is one datagram, so no framing is needed, and an EOF is seen once
// the other end is closed everywhere).
type syncConn struct{ fd int }

// newSyncPair returns the parent's end and the role's end of a new sync
// socket, both close-on-exec (os.StartProcess clears the flag on the copy
// it places at fdSync).
func newSyncPair() (parent, child int, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, -1, fmt.Errorf("sync socketpair: %w", err)
	}
	return fds[0], fds[1], nil
}

func (c syncConn) close() error { return unix.Close(c.fd) }

// send sends m, with fds attached as SCM_RIGHTS.
func (c syncConn) send(m message, fds ...int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s message: %w", m.Type, err)
	}
	if len(m.Spec) > 0 {
		// Marshal's output holds no newline.
		b = append(append(b, '\n'), m.Spec...)
	}
	// A datagram must fit the send buffer (about 200 KiB by default); only
	// a spec with a huge environment gets near it.
	if len(b) > 64<<10 {
		if err := unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 2*len(b)); err != nil {
			return fmt.Errorf("grow sync socket buffer for a %d-byte %s message: %w", len(b), m.Type, err)
		}
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	err = ignoringEINTR(func() error { return unix.Sendmsg(c.fd, b, oob, nil, 0) })
	if err != nil {
		return fmt.Errorf("send %s message: %w", m.Type, err)
	}
	return nil
}

// recv receives the next message and the fds attached to it (close-on-exec).
// It returns io.EOF once the other end is closed everywhere.
func (c syncConn) recv() (message, []int, error) {
	var n int
	err := retryingRecv(func() (err error) {
		n, _, _, _, err = unix.Recvmsg(c.fd, nil, nil, unix.MSG_PEEK|unix.MSG_TRUNC)
		return err
	})
	if n == 0 && err == nil {
		return message{}, nil, io.EOF
	}
	if err != nil {
		return message{}, nil, fmt.Errorf("receive sync message: %w", err)
	}
	buf := make([]byte, n)
	oob := make([]byte, unix.CmsgSpace(maxMsgFds*4))
	var oobn int
	err = retryingRecv(func() (err error) {
		n, oobn, _, _, err = unix.Recvmsg(c.fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		return err
	})
	if err != nil {
		return message{}, nil, fmt.Errorf("receive sync message: %w", err)
	}
	fds, err := parseRights(oob[:oobn])
	if err != nil {
		return message{}, nil, err
	}
	header, spec, _ := bytes.Cut(buf[:n], []byte{'\n'})
	var m message
	if err := json.Unmarshal(header, &m); err != nil {
		closeAll(fds)
		return message{}, nil, fmt.Errorf("decode sync message: %w", err)
	}
	m.Spec = spec
	return m, fds, nil
}

// expect receives the next message and checks it is of type want; a
// msgError becomes its error, and fds are not expected.
func (c syncConn) expect(want msgType) (message, error) {
	m, fds, err := c.recv()
	if err != nil {
		return m, err
	}
	closeAll(fds)
	if m.Type == msgError && m.Error != nil {
		return m, m.Error.err()
	}
	if m.Type != want {
		return m, fmt.Errorf("sync protocol: got %q message, want %q", m.Type, want)
	}
	return m, nil
}

// sendError reports err, the reason the role fails, to the parent.
func (c syncConn) sendError(err error) error {
	return c.send(message{Type: msgError, Error: newWireError(err)})
}

func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	cmsgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("parse sync control message: %w", err)
	}
	var fds []int
	for _, cm := range cmsgs {
		rights, err := unix.ParseUnixRights(&cm)
		if err != nil {
			closeAll(fds)
			return nil, fmt.Errorf("parse sync control message: %w", err)
		}
		fds = append(fds, rights...)
	}
	return fds, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// retryingRecv calls a receive until it is not interrupted and not told
// ECONNRESET. That error means the other end was closed with a message of
// ours unread (a role that failed before it read resume); the kernel
// reports it once, ahead of the messages the role sent before it went
// (its error, say), which the next call reads, then EOF.
func retryingRecv(fn func() error) error {
	for {
		err := fn()
		if err != unix.EINTR && err != unix.ECONNRESET {
			return err
		}
	}
}

// ignoringEINTR retries fn while it is interrupted by a signal (the Go
// runtime preempts goroutines with SIGURG).
func ignoringEINTR(fn func() error) error {
	for {
		err := fn()
		if err != unix.EINTR {
			return err
		}
	}
}
