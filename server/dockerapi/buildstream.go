package dockerapi

import (
	"encoding/json"

	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/skiff-dev/skiff/engine"
)

// BuildStreamMessage is one build message as /build streams it: Docker's
// JSON message, plus the deprecated "error" string that moby still writes
// next to errorDetail for old clients.
type BuildStreamMessage struct {
	jsonstream.Message
	ErrorText string `json:"error,omitempty"`
}

// NewBuildStreamMessage converts a builder message: text as "stream", the
// result as "aux" {"ID": …} (moby's build.Result, which docker build
// --iidfile reads), a failure as "errorDetail", the field the docker CLI
// fails on.
func NewBuildStreamMessage(m engine.BuildMessage) BuildStreamMessage {
	switch {
	case m.Error != "":
		return BuildStreamMessage{
			Message:   jsonstream.Message{Error: &jsonstream.Error{Code: m.ExitCode, Message: m.Error}},
			ErrorText: m.Error,
		}
	case m.ImageID != "":
		aux, _ := json.Marshal(build.Result{ID: m.ImageID.String()}) // a struct of a string always encodes
		raw := json.RawMessage(aux)
		return BuildStreamMessage{Message: jsonstream.Message{Aux: &raw}}
	}
	return BuildStreamMessage{Message: jsonstream.Message{Stream: m.Stream}}
}

// StreamBuild answers with build id's messages as /build streams them,
// starting the response at once so the client sees the build has begun.
// Quiet keeps only the result, as {"stream": "sha256:…\n"}, and errors: that
// is what docker build -q prints.
func StreamBuild(c echo.Context, b BuildBackend, id string, quiet bool) error {
	out := newJSONStream(c)
	out.begin()
	out.c.Response().Flush()
	err := b.BuildFollow(c.Request().Context(), id, func(m engine.BuildMessage) error {
		if quiet {
			switch {
			case m.ImageID != "":
				return out.stream(m.ImageID.String() + "\n")
			case m.Error == "":
				return nil
			}
		}
		return out.send(NewBuildStreamMessage(m))
	})
	if err != nil {
		return out.fail(err)
	}
	return nil
}
