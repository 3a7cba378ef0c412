// Package buildcontext receives the build context of a Dockerfile build and
// unpacks it on disk, as the classic builder does: the files a .dockerignore
// excludes are left out, and the Dockerfile is read from it.
package buildcontext

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	"github.com/skiff-dev/skiff/engine/compression"
	"github.com/skiff-dev/skiff/engine/ctxio"
	"github.com/skiff-dev/skiff/engine/layer"
)

// Options say how to read a context.
type Options struct {
	// Limit is the most bytes the uncompressed context may hold; 0 or less
	// means no limit.
	Limit int64
	// Dockerfile is the Dockerfile's path inside the context (-f); ""
	// means "Dockerfile", or "dockerfile" if that is missing.
	Dockerfile string
}

// Context is an unpacked build context.
type Context struct {
	// Dir holds the context's files, without those .dockerignore excludes.
	Dir string
	// Digest is the sha256 of the stream as read.
	Digest digest.Digest
	// Dockerfile is the Dockerfile's text, read before .dockerignore
	// applies (which may exclude the Dockerfile itself, as in Docker).
	Dockerfile []byte
	// DockerfileName is its path in the context.
	DockerfileName string
}

// Extract reads a build context from r into dir, an existing empty
// directory. r holds a tar, plain or compressed (gzip, bzip2, xz, zstd), a
// zip (which the dashboard accepts), or a bare Dockerfile, as `docker build
// - < Dockerfile` sends it: then the context is empty.
//
// Entries are unpacked as layer.ApplyAt does with Plain: names that escape
// and hard links to outside are refused with an error naming the entry,
// symlinks are created as they are and never followed. Character and block
// devices are refused rather than created (Docker's daemon would create
// them): a context has no use for them, and the daemon must not make device
// nodes from a client's upload. Bad input fails with an error matching
// errdefs.ErrInvalidArgument.
//
// On error dir is left as it is, for the caller to remove; nothing outside
// it is written.
func Extract(ctx context.Context, r io.Reader, dir string, opts Options) (*Context, error) {
	received := sha256.New()
	plain, kind, err := compression.Decompress(io.TeeReader(r, received))
	if err != nil {
		return nil, invalidf("read build context: %v", err)
	}
	defer plain.Close()
	limited := &limitReader{r: ctxio.Reader(ctx, plain), left: opts.Limit, limit: opts.Limit}
	content := bufio.NewReaderSize(limited, 64<<10)

	c := &Context{Dir: dir}
	head, _ := content.Peek(layer.TarBlockSize)
	switch {
	case kind == compression.None && isZip(head):
		var files io.ReadCloser
		if files, err = zipAsTar(ctx, content, filepath.Dir(dir)); err == nil {
			// The limit counts the unpacked files, not the compressed zip.
			unzipped := &limitReader{r: files, left: opts.Limit, limit: opts.Limit}
			err = unpack(ctx, unzipped, dir, opts.Dockerfile, c)
			if errors.Is(err, errTooLarge) {
				err = unzipped.error()
			}
			files.Close()
		}
	case kind == compression.None && !layer.IsTarHeader(head) && !isEndOfArchive(head):
		c.Dockerfile, err = io.ReadAll(content)
		c.DockerfileName = opts.Dockerfile
		if c.DockerfileName == "" {
			c.DockerfileName = defaultDockerfile
		}
	default:
		err = unpack(ctx, content, dir, opts.Dockerfile, c)
	}
	if err == nil {
		// Read what follows the archive (tar's padding), so that the digest
		// covers the whole stream.
		_, err = io.Copy(io.Discard, content)
	}
	if errors.Is(err, errTooLarge) {
		return nil, limited.error()
	}
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(c.Dockerfile)) == 0 {
		return nil, invalidf("the Dockerfile (%s) cannot be empty", c.DockerfileName)
	}
	c.Digest = digest.NewDigest(digest.SHA256, received)
	return c, nil
}

// unpack unpacks the tar archive into dir, then reads the Dockerfile and
// applies .dockerignore.
func unpack(ctx context.Context, archive io.Reader, dir, dockerfile string, c *Context) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open build context directory: %w", err)
	}
	defer d.Close()
	opts := layer.ApplyOptions{Plain: true, NoDevices: true}
	if _, err := layer.ApplyAt(ctx, d, archive, opts); err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	c.DockerfileName, c.Dockerfile, err = readDockerfile(dir, dockerfile)
	if err != nil {
		return err
	}
	return applyDockerignore(ctx, d)
}

// isEndOfArchive reports whether block is the zero block that ends a tar (an
// empty tar holds nothing else).
func isEndOfArchive(block []byte) bool {
	return len(block) == layer.TarBlockSize && bytes.Count(block, []byte{0}) == len(block)
}

// errTooLarge is what limitReader fails with past its limit.
var errTooLarge = errors.New("build context too large")

// limitReader fails with errTooLarge once more than limit bytes were read.
type limitReader struct {
	r           io.Reader
	left, limit int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.limit <= 0 {
		return l.r.Read(p)
	}
	if l.left < 0 {
		return 0, errTooLarge
	}
	// Read one byte past the limit, to tell "exactly at it" from "over it".
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, errTooLarge
	}
	return n, err
}

// error describes the limit, in Docker's words.
func (l *limitReader) error() error {
	size := fmt.Sprintf("%d bytes", l.limit)
	if l.limit%(1<<20) == 0 {
		size = fmt.Sprintf("%d MB", l.limit>>20)
	}
	return errdefs.ErrInvalidArgument.WithMessage("build context is larger than the limit of " + size)
}

// invalidf returns an error about bad input, classed as such.
func invalidf(format string, args ...any) error {
	return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(format, args...))
}
