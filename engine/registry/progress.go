package registry

import (
	"io"
	"sync"

	"github.com/opencontainers/go-digest"
)

// The steps of a layer's pull, in Docker's words and order, told to
// Options.Progress.
const (
	AlreadyExists     = "Already exists"     // the store has the layer: not fetched
	PullingFSLayer    = "Pulling fs layer"   // the layer is to be fetched
	Waiting           = "Waiting"            // queued behind MaxConcurrentDownloads, or another pull of it
	Downloading       = "Downloading"        // Current of Total blob bytes read
	VerifyingChecksum = "Verifying Checksum" // the whole blob is in, its digest checked
	DownloadComplete  = "Download complete"  // the blob matched its digest
	Extracting        = "Extracting"         // Current of Total blob bytes unpacked
	PullComplete      = "Pull complete"      // the layer is stored
)

// Progress is one step of one layer's pull.
type Progress struct {
	Layer  digest.Digest // the layer blob's digest, as the manifest names it
	Status string        // one of the steps above
	// Current and Total count the compressed blob's bytes, for Downloading
	// and Extracting.
	Current, Total int64
}

// progressEvery is how many bytes pass between two Downloading or
// Extracting reports, as Docker's progress reader does: a report per read
// would flood the stream.
const progressEvery = 512 << 10

// reporter tells Options.Progress of steps, one call at a time: layers
// download in parallel, and callers write each step to one stream. A nil
// func makes it silent.
type reporter struct {
	mu sync.Mutex
	fn func(Progress)
}

func newReporter(fn func(Progress)) *reporter { return &reporter{fn: fn} }

func (r *reporter) report(p Progress) {
	if r.fn == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fn(p)
}

func (r *reporter) step(layer digest.Digest, status string) {
	r.report(Progress{Layer: layer, Status: status})
}

// countingReader reports a blob's bytes as they are read under status:
// every progressEvery bytes and at the end, when Total is reached. Before
// the end it calls atTotal, if set.
type countingReader struct {
	r       io.Reader
	report  *reporter
	status  string
	layer   digest.Digest
	current int64
	total   int64
	shown   int64
	// quiet, when set, holds reports back while it returns true.
	quiet func() bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.current += int64(n)
		if (c.current-c.shown >= progressEvery || c.current == c.total) && (c.quiet == nil || !c.quiet()) {
			c.shown = c.current
			c.report.report(Progress{Layer: c.layer, Status: c.status, Current: c.current, Total: c.total})
		}
	}
	return n, err
}
