package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/image"
)

// The blob upload protocol of the distribution spec (HEAD, mount, POST,
// PATCH, PUT), over go-containerregistry's authenticated transport. The
// library's own writer cannot say whether a blob was found, mounted or
// sent, which Docker's progress tells; the handshake and tokens stay its.

// pushLayer makes the repository have layer l's blob: found there, mounted
// from another repository, or compressed and uploaded.
func (p *pusher) pushLayer(ctx context.Context, l image.StoredLayer) (blobDesc, error) {
	here := reference.Path(p.tag)
	known := p.sources[l.DiffID]
	seen := map[digest.Digest]bool{}
	for _, src := range known {
		if seen[src.Blob] {
			continue
		}
		seen[src.Blob] = true
		exists, err := p.blobExists(ctx, src.Blob)
		if err != nil {
			return blobDesc{}, fmt.Errorf("layer %s: %w", l.DiffID, err)
		}
		if exists {
			p.report(PushProgress{Layer: l.DiffID, Status: LayerExists})
			return blobDesc{MediaType: src.MediaType, Size: src.Size, Digest: src.Blob}, nil
		}
	}
	var location string // an upload session, when a mount was refused
	for _, src := range known {
		if src.Repository == here {
			continue
		}
		loc, mounted, err := p.startUpload(ctx, src.Blob, src.Repository)
		if err != nil {
			return blobDesc{}, fmt.Errorf("layer %s: %w", l.DiffID, err)
		}
		if mounted {
			p.report(PushProgress{Layer: l.DiffID, Status: MountedFrom + " " + src.Repository, From: src.Repository})
			return blobDesc{MediaType: src.MediaType, Size: src.Size, Digest: src.Blob}, nil
		}
		location = loc
		break
	}
	if location == "" {
		loc, _, err := p.startUpload(ctx, "", "")
		if err != nil {
			return blobDesc{}, fmt.Errorf("layer %s: %w", l.DiffID, err)
		}
		location = loc
	}
	d, size, err := p.uploadLayer(ctx, location, l)
	if err != nil {
		return blobDesc{}, fmt.Errorf("layer %s: %w", l.DiffID, err)
	}
	p.report(PushProgress{Layer: l.DiffID, Status: Pushed})
	return blobDesc{MediaType: dockerLayerGzip, Size: size, Digest: d}, nil
}

// pushConfig uploads the config blob unless the repository has it.
func (p *pusher) pushConfig(ctx context.Context, config []byte) error {
	d := digest.FromBytes(config)
	exists, err := p.blobExists(ctx, d)
	if err != nil || exists {
		return err
	}
	location, _, err := p.startUpload(ctx, "", "")
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	resp, err := p.do(ctx, http.MethodPut, withDigest(location, d), bytes.NewReader(config), int64(len(config)), "application/octet-stream")
	if err != nil {
		return fmt.Errorf("upload config: %w", err)
	}
	defer resp.Body.Close()
	return transport.CheckError(resp, http.StatusCreated)
}

// putManifest stores the manifest under the push's tag.
func (p *pusher) putManifest(ctx context.Context, manifest []byte, mediaType string) error {
	u := p.url("manifests/" + p.tag.Tag())
	resp, err := p.do(ctx, http.MethodPut, u, bytes.NewReader(manifest), int64(len(manifest)), mediaType)
	if err != nil {
		return fmt.Errorf("put manifest: %w", err)
	}
	defer resp.Body.Close()
	return transport.CheckError(resp, http.StatusCreated)
}

func (p *pusher) url(path string) string {
	return p.base + "/v2/" + p.repo.RepositoryStr() + "/" + path
}

func (p *pusher) blobExists(ctx context.Context, d digest.Digest) (bool, error) {
	resp, err := p.do(ctx, http.MethodHead, p.url("blobs/"+d.String()), nil, 0, "")
	if err != nil {
		return false, fmt.Errorf("check blob %s: %w", d, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return false, nil
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return false, fmt.Errorf("check blob %s: %w", d, err)
	}
	return true, nil
}

// startUpload opens an upload session, first asking the registry to mount
// blob d from repository from when given: mounted is true when it did
// (201), else location is the session to upload to.
func (p *pusher) startUpload(ctx context.Context, d digest.Digest, from string) (location string, mounted bool, err error) {
	u := p.url("blobs/uploads/")
	if from != "" {
		u += "?" + url.Values{"mount": {d.String()}, "from": {from}}.Encode()
	}
	resp, err := p.do(ctx, http.MethodPost, u, nil, 0, "")
	if err != nil {
		return "", false, fmt.Errorf("start upload: %w", err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusCreated, http.StatusAccepted); err != nil {
		return "", false, fmt.Errorf("start upload: %w", err)
	}
	if resp.StatusCode == http.StatusCreated {
		return "", true, nil
	}
	loc, err := resp.Location()
	if err != nil {
		return "", false, fmt.Errorf("start upload: no upload location: %w", err)
	}
	return loc.String(), false, nil
}

// uploadLayer compresses layer l as it reads it and streams the result to
// the upload session at location in one PATCH, hashing it on the way: the
// registry wants the digest only with the closing PUT.
func (p *pusher) uploadLayer(ctx context.Context, location string, l image.StoredLayer) (digest.Digest, int64, error) {
	src, err := l.Open()
	if err != nil {
		return "", 0, err
	}
	defer src.Close()
	pr, pw := io.Pipe()
	go func() {
		progress := &pushProgress{r: src, report: p.report, layer: l.DiffID, total: l.Size}
		pw.CloseWithError(compressLayer(pw, progress))
	}()
	body := &hashingReader{r: pr, h: sha256.New()}
	resp, err := p.do(ctx, http.MethodPatch, location, body, -1, "application/octet-stream")
	pr.CloseWithError(io.ErrClosedPipe) // stops the compressor when the request failed early
	if err != nil {
		return "", 0, fmt.Errorf("upload: %w", err)
	}
	resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusAccepted, http.StatusNoContent, http.StatusCreated); err != nil {
		return "", 0, fmt.Errorf("upload: %w", err)
	}
	if loc, err := resp.Location(); err == nil {
		location = loc.String()
	}
	d := digest.NewDigest(digest.SHA256, body.h)
	resp, err = p.do(ctx, http.MethodPut, withDigest(location, d), nil, 0, "")
	if err != nil {
		return "", 0, fmt.Errorf("commit upload: %w", err)
	}
	resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusCreated); err != nil {
		return "", 0, fmt.Errorf("commit upload: %w", err)
	}
	return d, body.n, nil
}

func (p *pusher) do(ctx context.Context, method, u string, body io.Reader, size int64, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if size >= 0 && body != nil {
		req.ContentLength = size
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return p.client.Do(req)
}

// withDigest adds the digest parameter that closes an upload to the
// session's URL, keeping the registry's own parameters.
func withDigest(location string, d digest.Digest) string {
	u, err := url.Parse(location)
	if err != nil {
		return location
	}
	q := u.Query()
	q.Set("digest", d.String())
	u.RawQuery = q.Encode()
	return u.String()
}

// hashingReader hashes and counts what is read through it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

// pushProgress reports Pushing as a layer's uncompressed bytes are read,
// every 512 KiB as Docker does, and at the end.
type pushProgress struct {
	r             io.Reader
	report        func(PushProgress)
	layer         digest.Digest
	current, last int64
	total         int64
}

func (p *pushProgress) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.current += int64(n)
	if p.current-p.last >= progressEvery || (err == io.EOF && p.current != p.last) {
		p.last = p.current
		p.report(PushProgress{Layer: p.layer, Status: Pushing, Current: p.current, Total: p.total})
	}
	return n, err
}
