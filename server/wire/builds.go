package wire

import "time"

// Build is a build's record: GET /skiff/builds answers a JSON array of them,
// newest first, and GET /skiff/builds/{id} one.
type Build struct {
	ID              string    `json:"Id"`
	Status          string    `json:"Status"`        // running, succeeded, failed or cancelled
	Dockerfile      string    `json:"Dockerfile"`    // the Dockerfile's text
	ContextDigest   string    `json:"ContextDigest"` // sha256:… of the context as received
	Tags            []string  `json:"Tags"`          // [] when untagged
	ImageID         string    `json:"ImageId"`       // sha256:…, once succeeded
	Started         time.Time `json:"Started"`
	Finished        time.Time `json:"Finished,omitzero"` // absent while running
	Error           string    `json:"Error,omitempty"`   // why it failed
	FailedContainer string    `json:"FailedContainer,omitempty"`
}

// BuildStarted answers POST /skiff/builds (201) once the context is read;
// the build runs on, detached from the request.
type BuildStarted struct {
	ID string `json:"Id"`
}
