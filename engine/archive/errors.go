package archive

import (
	"fmt"

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
