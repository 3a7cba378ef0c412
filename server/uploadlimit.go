package server

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"

	units "github.com/docker/go-units"
	"github.com/labstack/echo/v4"
)

// uploadKey holds a request's cappedBody in its echo.Context.
const uploadKey = "skiff.upload"

// limitUploads caps the body of every request over TCP at limit bytes
// (0: no cap): build contexts, image tarballs and imports are what come
// that big. A body announced larger is refused before it is read; one that
// turns out larger fails its read, and the request gets a 413. The unix
// socket's clients are trusted as root already.
func limitUploads(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if limit <= 0 || !overTCP(req) || req.Body == nil || req.Body == http.NoBody {
				return next(c)
			}
			if req.ContentLength > limit {
				return uploadTooLargeError{limit}
			}
			// The server's own writer, so MaxBytesReader can have the
			// connection closed rather than drained.
			body := &cappedBody{ReadCloser: http.MaxBytesReader(c.Response().Writer, req.Body, limit), limit: limit}
			req.Body = body
			c.Set(uploadKey, body)
			return next(c)
		}
	}
}

// cappedBody turns MaxBytesReader's error into uploadTooLargeError and
// remembers it, so the answer is a 413 however a handler wrapped the error.
type cappedBody struct {
	io.ReadCloser
	limit    int64
	exceeded atomic.Bool // reads may happen on another goroutine
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		b.exceeded.Store(true)
		return n, uploadTooLargeError{b.limit}
	}
	return n, err
}

// uploadTooLarge returns the error of a request whose body passed the cap.
func uploadTooLarge(c echo.Context) (uploadTooLargeError, bool) {
	if b, ok := c.Get(uploadKey).(*cappedBody); ok && b.exceeded.Load() {
		return uploadTooLargeError{b.limit}, true
	}
	return uploadTooLargeError{}, false
}

type uploadTooLargeError struct{ limit int64 }

func (e uploadTooLargeError) Error() string {
	return "upload is larger than the limit of " + units.BytesSize(float64(e.limit)) + " (skiff serve --max-upload)"
}
