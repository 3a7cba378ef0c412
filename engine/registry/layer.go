package registry

import (
	"context"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/compression"
)

// layerPull fetches one layer of a pull.
type layerPull struct {
	ctx    context.Context
	index  int
	layer  v1.Layer
	desc   v1.Descriptor
	report *reporter
	queue  *downloadQueue
	tmpDir string
}

// open is the layer's archive.LoadLayer.Open: it waits for a download slot,
// starts the blob's download into a spool and returns the decompressed
// stream, read from the spool while the download goes on. The blob is
// checked against its digest as it streams in (the store checks the
// decompressed stream against the diff ID); the stream ends in an error if
// the download fails, so nothing of a bad blob is stored.
//
// An interrupted download (cancelled, connection dropped) is not resumed:
// its spool goes with it and the next pull fetches the blob from its start.
func (p layerPull) open() (io.ReadCloser, error) {
	d := digest.Digest(p.desc.Digest.String())
	if err := p.queue.acquire(p.ctx, p.index, func() { p.report.step(d, Waiting) }); err != nil {
		return nil, err
	}
	blob, err := p.layer.Compressed()
	if err != nil {
		p.queue.release()
		return nil, fmt.Errorf("fetch layer %s: %w", d, err)
	}
	sp, err := newSpool(p.tmpDir)
	if err != nil {
		blob.Close()
		p.queue.release()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := p.download(d, blob, sp)
		blob.Close()
		p.queue.release()
		sp.finish(err)
	}()
	extracted := &countingReader{
		r: &spoolReader{s: sp}, report: p.report, status: Extracting, layer: d, total: p.desc.Size,
		quiet: func() bool { return !sp.finished() }, // Docker's order: extracting after the download
	}
	lr := &layerReader{blob: blob, spool: sp, extracted: extracted, done: done, report: p.report, digest: d}
	plain, _, err := compression.Decompress(extracted)
	if err != nil {
		lr.Close()
		return nil, fmt.Errorf("decompress layer %s: %w", d, err)
	}
	lr.plain = plain
	return lr, nil
}

// download copies the blob into the spool, reporting its progress. The
// blob reader (go-containerregistry's) checks the size and digest when it
// reaches the end.
func (p layerPull) download(d digest.Digest, blob io.Reader, sp *spool) error {
	counted := &countingReader{r: blob, report: p.report, status: Downloading, layer: d, total: p.desc.Size}
	if _, err := io.CopyN(sp, counted, p.desc.Size); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("download: %w", err)
	}
	p.report.step(d, VerifyingChecksum)
	if _, err := io.Copy(sp, counted); err != nil {
		return fmt.Errorf("blob does not match its digest: %w", err)
	}
	p.report.step(d, DownloadComplete)
	return nil
}

// layerReader is a layer's decompressed stream. At its end it reads what is
// left of the blob, so that the download's outcome (the digest check) is
// known before the store takes the layer: a decompressor may stop short of
// the blob's end (trailing bytes, a padded last frame).
type layerReader struct {
	plain     io.ReadCloser
	blob      io.Closer
	spool     *spool
	extracted *countingReader
	done      chan struct{}
	report    *reporter
	digest    digest.Digest
	ended     bool
}

func (r *layerReader) Read(p []byte) (int, error) {
	n, err := r.plain.Read(p)
	switch {
	case errors.Is(err, io.EOF):
		if !r.ended {
			r.ended = true
			if _, derr := io.Copy(io.Discard, r.extracted); derr != nil {
				return n, fmt.Errorf("layer %s: %w", r.digest, derr)
			}
			if r.extracted.shown != r.extracted.total {
				r.report.report(Progress{Layer: r.digest, Status: Extracting, Current: r.extracted.total, Total: r.extracted.total})
			}
		}
	case err != nil:
		// A blob that does not unpack may be a blob tampered with: then
		// the digest check, at the download's end, says so better.
		if _, derr := io.Copy(io.Discard, r.extracted); derr != nil {
			err = derr
		}
		err = fmt.Errorf("layer %s: %w", r.digest, err)
	}
	return n, err
}

// Close stops the download if it still runs and waits for it to end.
func (r *layerReader) Close() error {
	r.blob.Close() // the download's own Close may come first: no error to tell
	<-r.done
	var err error
	if r.plain != nil {
		err = r.plain.Close()
	}
	return errors.Join(err, r.spool.Close())
}
