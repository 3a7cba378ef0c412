package dockerapi

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/jsonstream"
)

// WriteJSON answers with v as JSON. The content type is exactly
// application/json: the docker CLI shows anything else as raw text.
func WriteJSON(c echo.Context, status int, v any) error {
	c.Response().Header().Set(echo.HeaderContentType, "application/json")
	c.Response().WriteHeader(status)
	return json.NewEncoder(c.Response()).Encode(v)
}

// jsonStream writes Docker's newline-delimited JSON progress messages,
// flushing each one so the client sees it at once.
type jsonStream struct {
	c       echo.Context
	enc     *json.Encoder
	started bool
}

func newJSONStream(c echo.Context) *jsonStream {
	return &jsonStream{c: c, enc: json.NewEncoder(c.Response())}
}

// begin starts the response with status 200, if not yet done.
func (s *jsonStream) begin() {
	if !s.started {
		s.started = true
		s.c.Response().Header().Set(echo.HeaderContentType, "application/json")
		s.c.Response().WriteHeader(http.StatusOK)
	}
}

// send writes one message, starting the response first.
func (s *jsonStream) send(v any) error {
	s.begin()
	if err := s.enc.Encode(v); err != nil {
		return err
	}
	s.c.Response().Flush()
	return nil
}

func (s *jsonStream) stream(text string) error {
	return s.send(jsonstream.Message{Stream: text})
}

func (s *jsonStream) status(text string) error {
	return s.send(jsonstream.Message{Status: text})
}

// streamError is an error message in a stream: errorDetail is what the CLI
// acts on; the deprecated error field is for older clients.
type streamError struct {
	ErrorDetail jsonstream.Error `json:"errorDetail"`
	Error       string           `json:"error"`
}

// fail ends a stream with err. Before anything was written it returns err,
// so the error handler answers with a proper status instead.
func (s *jsonStream) fail(err error) error {
	if !s.started {
		return err
	}
	return s.send(streamError{ErrorDetail: jsonstream.Error{Message: err.Error()}, Error: err.Error()})
}
