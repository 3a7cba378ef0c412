package monitor

import (
	"context"

	"github.com/containerd/errdefs"
)

// wireError is an error sent between monitor and daemon: its errdefs class
// (the class error's text, as "not found") and its message. The daemon gets
// back an error with the same message that errdefs.IsNotFound & co.
// recognise, so a runtime's "executable file not found" stays a 404 on the
// daemon's side without any string matching.
type wireError struct {
	Class   string `json:"class"`
	Message string `json:"message"`
}

// wireClasses are the classes an error can travel with, by their text.
var wireClasses = func() map[string]error {
	m := make(map[string]error)
	for _, class := range []error{
		errdefs.ErrUnknown, errdefs.ErrInvalidArgument, errdefs.ErrNotFound,
		errdefs.ErrAlreadyExists, errdefs.ErrPermissionDenied, errdefs.ErrResourceExhausted,
		errdefs.ErrFailedPrecondition, errdefs.ErrConflict, errdefs.ErrNotModified,
		errdefs.ErrAborted, errdefs.ErrOutOfRange, errdefs.ErrNotImplemented,
		errdefs.ErrInternal, errdefs.ErrUnavailable, errdefs.ErrDataLoss,
		errdefs.ErrUnauthenticated, context.Canceled, context.DeadlineExceeded,
	} {
		m[class.Error()] = class
	}
	return m
}()

// toWire describes err for the other side; nil stays nil.
func toWire(err error) *wireError {
	if err == nil {
		return nil
	}
	return &wireError{Class: errdefs.Resolve(err).Error(), Message: err.Error()}
}

// err rebuilds the error on the receiving side.
func (w *wireError) err() error {
	if w == nil {
		return nil
	}
	class, ok := wireClasses[w.Class]
	if !ok {
		class = errdefs.ErrUnknown
	}
	return &remoteError{class: class, msg: w.Message}
}

// remoteError is an error that happened in the monitor: the message as it
// was there, the class to test with errdefs.
type remoteError struct {
	class error
	msg   string
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.class }
