// Package content stores blobs addressed by their sha256 digest.
//
// Layout under the root directory:
//
//	blobs/sha256/<hex>   committed blobs, read-only, each hashing to its name
//	ingest/<random>      blobs being written
//
// A blob is written to ingest/, hashed while it is written, fsync'd, checked
// against the digest the caller expects (if any), and only then renamed into
// blobs/ and the directory fsync'd. A crash at any point leaves either no blob
// under blobs/ or a whole, correct one; leftovers in ingest/ are removed by
// Open. The store knows nothing of what references a blob: deleting
// unreferenced blobs is the caller's decision (see engine/image).
package content

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/engine/ctxio"
)

// Store is a content-addressed blob store on the local filesystem.
type Store struct {
	blobs  string
	ingest string
}

// Open opens the store rooted at root, creating its directories, and removes
// blobs left half-written by an earlier process.
func Open(root string) (*Store, error) {
	s := &Store{
		blobs:  filepath.Join(root, "blobs", "sha256"),
		ingest: filepath.Join(root, "ingest"),
	}
	for _, dir := range []string{s.blobs, s.ingest} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create content store: %w", err)
		}
	}
	if err := os.RemoveAll(s.ingest); err != nil {
		return nil, fmt.Errorf("clean content ingest dir: %w", err)
	}
	if err := os.Mkdir(s.ingest, 0o700); err != nil {
		return nil, fmt.Errorf("create content ingest dir: %w", err)
	}
	return s, nil
}

// Path returns the file of a committed blob. It does not check that it exists.
func (s *Store) Path(d digest.Digest) string {
	return filepath.Join(s.blobs, d.Encoded())
}

// Info returns the size of a committed blob, or an errdefs.ErrNotFound error.
func (s *Store) Info(d digest.Digest) (int64, error) {
	if err := d.Validate(); err != nil {
		return 0, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid digest %q: %v", d, err))
	}
	fi, err := os.Stat(s.Path(d))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("blob %s: %w", d, errdefs.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", d, err)
	}
	return fi.Size(), nil
}

// Open opens a committed blob for reading.
func (s *Store) Open(d digest.Digest) (*os.File, error) {
	if err := d.Validate(); err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid digest %q: %v", d, err))
	}
	f, err := os.Open(s.Path(d))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", d, errdefs.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", d, err)
	}
	return f, nil
}

// ReadAll returns the whole content of a small committed blob.
func (s *Store) ReadAll(d digest.Digest) ([]byte, error) {
	f, err := s.Open(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Delete removes a committed blob. Deleting a blob that is not there is not an
// error.
func (s *Store) Delete(d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid digest %q: %v", d, err))
	}
	if err := os.Remove(s.Path(d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", d, err)
	}
	return nil
}

// Walk calls fn for every committed blob.
func (s *Store) Walk(fn func(d digest.Digest) error) error {
	entries, err := os.ReadDir(s.blobs)
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	for _, e := range entries {
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if d.Validate() != nil {
			continue // not ours; never delete what we cannot name
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

// Writer is a blob being written. Write to it, then Commit or Close.
type Writer struct {
	s      *Store
	f      *os.File
	h      hash.Hash
	size   int64
	closed bool
	kicked int64 // bytes whose write-back has been started
}

// writeBackEvery is how many bytes a blob grows by between two starts of
// its write-back: Commit's fsync then finds little left to write, instead
// of the whole blob at once.
const writeBackEvery = 8 << 20

// NewWriter starts a new blob in the ingest directory.
func (s *Store) NewWriter() (*Writer, error) {
	var b [12]byte
	rand.Read(b[:])
	f, err := os.OpenFile(filepath.Join(s.ingest, hex.EncodeToString(b[:])), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start blob: %w", err)
	}
	return &Writer{s: s, f: f, h: digest.SHA256.Hash()}, nil
}

// Write appends p to the blob.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("write blob: %w", err)
	}
	if w.size-w.kicked >= writeBackEvery {
		startWriteBack(w.f, w.kicked, w.size-w.kicked)
		w.kicked = w.size
	}
	return n, nil
}

// startWriteBack asks the kernel to start writing a range of f to disk,
// without waiting for it. A hint: if it fails, the fsync that makes the
// data durable does all the work, as it would have without it.
func startWriteBack(f *os.File, off, n int64) {
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
		})
	}
}

// Digest is the digest of what has been written so far.
func (w *Writer) Digest() digest.Digest {
	return digest.NewDigest(digest.SHA256, w.h)
}

// Size is the number of bytes written so far.
func (w *Writer) Size() int64 { return w.size }

// Commit makes the blob visible under its digest. If expected is not empty
// and differs from the digest of the written bytes, the blob is discarded and
// an errdefs.ErrFailedPrecondition error names both digests. Committing a
// blob that is already present succeeds and keeps the existing file.
func (w *Writer) Commit(expected digest.Digest) (digest.Digest, error) {
	defer w.Close()
	got := w.Digest()
	if expected != "" && expected != got {
		return "", fmt.Errorf("blob digest mismatch: expected %s, got %s: %w", expected, got, errdefs.ErrFailedPrecondition)
	}
	if err := w.f.Sync(); err != nil {
		return "", fmt.Errorf("sync blob %s: %w", got, err)
	}
	if err := w.f.Close(); err != nil {
		return "", fmt.Errorf("close blob %s: %w", got, err)
	}
	w.closed = true
	target := w.s.Path(got)
	if _, err := os.Stat(target); err == nil {
		os.Remove(w.f.Name())
		return got, nil
	}
	if err := os.Chmod(w.f.Name(), 0o400); err != nil {
		return "", fmt.Errorf("commit blob %s: %w", got, err)
	}
	if err := os.Rename(w.f.Name(), target); err != nil {
		return "", fmt.Errorf("commit blob %s: %w", got, err)
	}
	if err := syncDir(w.s.blobs); err != nil {
		return "", fmt.Errorf("commit blob %s: %w", got, err)
	}
	return got, nil
}

// Close discards the blob unless it was committed. It is safe to call more
// than once.
func (w *Writer) Close() error {
	if !w.closed {
		w.closed = true
		w.f.Close()
	}
	if err := os.Remove(w.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Ingest writes all of r as one blob and commits it (see Writer.Commit for
// expected). It honours ctx between reads.
func (s *Store) Ingest(ctx context.Context, r io.Reader, expected digest.Digest) (digest.Digest, int64, error) {
	w, err := s.NewWriter()
	if err != nil {
		return "", 0, err
	}
	defer w.Close()
	if _, err := io.Copy(w, ctxio.Reader(ctx, r)); err != nil {
		return "", 0, err
	}
	d, err := w.Commit(expected)
	return d, w.Size(), err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
