package registry

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxManifestSize is the most a manifest or manifest list may weigh, as in
// Docker (4 MiB); go-containerregistry alone would read up to 100 MiB into
// memory.
const maxManifestSize = 4 << 20

// capManifests refuses manifest answers bigger than maxManifestSize, by
// their Content-Length or, lacking one, once that many bytes are read.
type capManifests struct{ next http.RoundTripper }

func (t capManifests) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || !strings.Contains(req.URL.Path, "/manifests/") || req.Method != http.MethodGet {
		return resp, err
	}
	if resp.ContentLength > maxManifestSize {
		resp.Body.Close()
		return nil, fmt.Errorf("manifest of %d bytes refused: more than %d", resp.ContentLength, maxManifestSize)
	}
	resp.Body = &cappedBody{r: io.LimitReader(resp.Body, maxManifestSize+1), c: resp.Body}
	return resp, nil
}

type cappedBody struct {
	r    io.Reader
	c    io.Closer
	read int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += int64(n)
	if b.read > maxManifestSize {
		return 0, fmt.Errorf("manifest refused: more than %d bytes", maxManifestSize)
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.c.Close() }
