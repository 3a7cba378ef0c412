package build

import (
	"time"

	"github.com/opencontainers/go-digest"
)

// Options are a build's parameters: docker build's flags and POST /build's
// query parameters.
type Options struct {
	// Tags name the result (-t repo[:tag], several allowed).
	Tags []string
	// Dockerfile is the Dockerfile's path inside the context (-f); "" is
	// "Dockerfile".
	Dockerfile string
	// BuildArgs are --build-arg values; a nil value takes the one from the
	// daemon's environment, as Docker does.
	BuildArgs map[string]*string
	// Target is the stage to build (--target); "" builds the last one.
	Target string
	// Labels are added to the result's config (--label).
	Labels map[string]string
	// NoCache turns the step cache off.
	NoCache bool
	// Remove removes each intermediate container after a successful step
	// (--rm, Docker's default); ForceRemove also after a failed one.
	Remove, ForceRemove bool
	// Platform is --platform; only the host's platform is accepted.
	Platform string
}

// Status is a build's state.
type Status string

// The states of a build.
const (
	StatusRunning   Status = "running"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
)

// Record is a build as stored in SQLite.
type Record struct {
	ID            string
	Status        Status
	Dockerfile    string // the Dockerfile's text
	ContextDigest digest.Digest
	Tags          []string
	ImageID       digest.Digest // the result, once succeeded
	Started       time.Time
	Finished      time.Time // zero while running
	// Error says why a build failed; ExitCode is the failed RUN's code.
	Error    string
	ExitCode int
	// FailedContainer is the container of a failed RUN step, kept (unless
	// --force-rm) so its state can be committed or opened in a shell.
	FailedContainer string
}

// Message is one piece of a build's output, in the order produced. Exactly
// one of its fields is set.
type Message struct {
	// Stream is output text: the builder's lines ("Step 2/5 : RUN make")
	// and the steps' own output.
	Stream string `json:"stream,omitempty"`
	// ImageID ends a successful build.
	ImageID digest.Digest `json:"imageID,omitempty"`
	// Error ends a failed or cancelled build.
	Error string `json:"error,omitempty"`
	// ExitCode is a failed RUN's exit code, with Error: docker build exits
	// with it.
	ExitCode int `json:"exitCode,omitempty"`
}
