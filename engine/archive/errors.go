package archive

import (
	"context"
	"fmt"
	"io"

	"github.com/containerd/errdefs"
)

// inputError is an error caused by bad input: a malformed archive or an image
// that cannot be saved. It matches errdefs.ErrInvalidArgument, so that the API
// answers 400, and whatever its message wraps.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }

func (e *inputError) Unwrap() []error { return []error{e.err, errdefs.ErrInvalidArgument} }

// invalidf formats an inputError; %w verbs wrap as in fmt.Errorf.
func invalidf(format string, args ...any) error {
	return &inputError{err: fmt.Errorf(format, args...)}
}

// ctxReader fails its reads once ctx is done, so that copying a large stream
// stops soon after cancellation.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
