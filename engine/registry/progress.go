package registry

import (
	"io"

	"github.com/opencontainers/go-digest"
)

// The steps of a layer's pull, in Docker's words, told to Options.Progress.
const (
	AlreadyExists     = "Already exists"     // the store has the layer: not fetched
	PullingFSLayer    = "Pulling fs layer"   // the layer is to be fetched
	Downloading       = "Downloading"        // Current of Total blob bytes read
	VerifyingChecksum = "Verifying Checksum" // the whole blob is in, its digest checked
	DownloadComplete  = "Download complete"  // the blob matched its digest
	PullComplete      = "Pull complete"      // the layer is stored
)

// Progress is one step of one layer's pull.
type Progress struct {
	Layer  digest.Digest // the layer blob's digest, as the manifest names it
	Status string        // one of the steps above
	// Current and Total count the compressed blob's bytes, for Downloading.
	Current, Total int64
}

// reporter tells Options.Progress of steps; a nil func makes it silent.
type reporter func(Progress)

func (r reporter) step(layer digest.Digest, status string) {
	if r != nil {
		r(Progress{Layer: layer, Status: status})
	}
}

// countingReader reports Downloading as a blob's bytes are read.
type countingReader struct {
	io.ReadCloser
	report  reporter
	layer   digest.Digest
	current int64
	total   int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if n > 0 && c.report != nil {
		c.current += int64(n)
		c.report(Progress{Layer: c.layer, Status: Downloading, Current: c.current, Total: c.total})
	}
	return n, err
}
