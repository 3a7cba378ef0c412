package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/containerd/errdefs/pkg/errhttp"
	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/common"

	"github.com/skiff-dev/skiff/server/dockerapi"
)

var versionPrefix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^/v(\d+\.\d+)(/.*)$`) })

// apiVersion strips a /vX.Y prefix from the path, as moby's router does, so
// one route table serves versioned and unversioned paths; it refuses
// versions outside the supported range.
func apiVersion(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		m := versionPrefix().FindStringSubmatch(req.URL.Path)
		version := dockerapi.MaxAPIVersion
		if m != nil {
			version = m[1]
			req.URL.Path = m[2]
			if req.URL.RawPath != "" {
				if rm := versionPrefix().FindStringSubmatch(req.URL.RawPath); rm != nil {
					req.URL.RawPath = rm[2]
				}
			}
			if err := dockerapi.CheckVersion(version); err != nil {
				return err
			}
		}
		c.Set(dockerapi.VersionKey, version)
		return next(c)
	}
}

// responseHeaders sets the headers moby sets on every answer; the docker CLI
// reads the OS type and API version from them.
func responseHeaders(version string) echo.MiddlewareFunc {
	server := fmt.Sprintf("Skiff/%s (linux)", version)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("Api-Version", dockerapi.MaxAPIVersion)
			h.Set("Ostype", "linux")
			h.Set("Server", server)
			return next(c)
		}
	}
}

func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.ToLower(scheme)), []byte("bearer")) != 1 {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// recoverPanics turns a handler panic into a 500 answer and a log line,
// instead of a dropped connection.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("handler panicked", "method", c.Request().Method, "path", c.Request().URL.Path, "panic", r)
				err = fmt.Errorf("internal error: %v", r)
			}
		}()
		return next(c)
	}
}

// errorHandler is the one place where errors become HTTP answers: the status
// from the error's errdefs class, the body Docker's {"message": …} with the
// exact content type the docker CLI checks for. Only server errors are
// logged; a client's mistake is the client's to read.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return // a stream already started; the handler reported in-stream
	}
	status, msg := statusOf(err)
	if tooLarge, ok := uploadTooLarge(c); ok {
		// The body passed the cap, whatever error the handler made of it.
		status, msg = http.StatusRequestEntityTooLarge, tooLarge.Error()
	}
	if status >= 500 {
		s.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if c.Request().Method == http.MethodHead || status == http.StatusNotModified {
		c.NoContent(status)
		return
	}
	dockerapi.WriteJSON(c, status, common.ErrorResponse{Message: msg})
}

func statusOf(err error) (int, string) {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return he.Code, "page not found"
		case http.StatusMethodNotAllowed:
			return he.Code, "method not allowed"
		}
		return he.Code, fmt.Sprint(he.Message)
	}
	if tooLarge, ok := errors.AsType[uploadTooLargeError](err); ok {
		return http.StatusRequestEntityTooLarge, tooLarge.Error()
	}
	if errors.Is(err, context.Canceled) {
		return 499, "request canceled"
	}
	return errhttp.ToHTTP(err), err.Error()
}
