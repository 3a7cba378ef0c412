package layer

import (
	"context"
	_ "crypto/sha256" // chain IDs are sha256 digests
	_ "crypto/sha512" // base layer chain IDs are diff IDs, which may be sha384/sha512
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

const (
	tempPrefix     = ".tmp-"
	removingPrefix = ".removing-"
)

// Store holds unpacked layers, each in a directory named by the hex of its
// chain ID. See the package documentation for the lifecycle.
type Store struct {
	root string
}

// Pending is a layer unpacked into a temporary directory, not yet visible.
type Pending struct {
	dir  string
	size int64
}

// Size is the number of bytes of regular-file content in the layer.
func (p *Pending) Size() int64 { return p.size }

// Dir is the temporary directory holding the layer's files, for the caller to
// inspect before Commit.
func (p *Pending) Dir() string { return p.dir }

// Open opens the layer store rooted at root (creating it, mode 0700) and
// removes leftovers of an earlier process: temporary unpack dirs and
// half-removed layers.
func Open(root string) (*Store, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create layer store: %w", err)
	}
	s := &Store{root: root}
	if err := s.removeLeftovers(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) removeLeftovers() error {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return fmt.Errorf("list layer store: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, tempPrefix) && !strings.HasPrefix(name, removingPrefix) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.root, name)); err != nil {
			return fmt.Errorf("remove leftover layer dir: %w", err)
		}
	}
	return nil
}

// Unpack creates a temporary directory in the store and Applies r into it. On
// error nothing is left behind.
func (s *Store) Unpack(ctx context.Context, r io.Reader) (*Pending, error) {
	dir, err := os.MkdirTemp(s.root, tempPrefix)
	if err != nil {
		return nil, fmt.Errorf("unpack layer: %w", err)
	}
	// The layer root becomes the root of container filesystems: give it the
	// usual mode rather than MkdirTemp's 0700.
	err = os.Chmod(dir, 0o755)
	var size int64
	if err == nil {
		size, err = Apply(ctx, dir, r)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("unpack layer: %w", err), os.RemoveAll(dir))
	}
	return &Pending{dir: dir, size: size}, nil
}

// Commit makes p the layer chainID (atomic rename). If that layer already
// exists, p is discarded and Commit succeeds.
func (s *Store) Commit(p *Pending, chainID digest.Digest) error {
	if err := validateChainID(chainID); err != nil {
		return err
	}
	if p == nil {
		return invalid("commit of a nil pending layer")
	}
	if s.Exists(chainID) {
		return s.Discard(p)
	}
	// Flush the files before the rename makes them a layer, so that a crash
	// never leaves a committed layer with missing data.
	if err := syncFS(p.dir); err != nil {
		return fmt.Errorf("commit layer %s: %w", chainID, err)
	}
	err := os.Rename(p.dir, s.Path(chainID))
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
		return s.Discard(p) // another Commit of the same layer won the race
	}
	if err != nil {
		return fmt.Errorf("commit layer %s: %w", chainID, err)
	}
	if err := syncDir(s.root); err != nil {
		return fmt.Errorf("commit layer %s: %w", chainID, err)
	}
	return nil
}

// Discard removes p's directory.
func (s *Store) Discard(p *Pending) error {
	if p == nil {
		return invalid("discard of a nil pending layer")
	}
	if err := os.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("discard unpacked layer: %w", err)
	}
	return nil
}

// Path is the directory holding the layer's files (used as an overlayfs
// lowerdir). It is "" for a malformed chain ID.
func (s *Store) Path(chainID digest.Digest) string {
	if validateChainID(chainID) != nil {
		return ""
	}
	return filepath.Join(s.root, chainID.Encoded())
}

// Exists reports whether the layer chainID is committed.
func (s *Store) Exists(chainID digest.Digest) bool {
	dir := s.Path(chainID)
	if dir == "" {
		return false
	}
	fi, err := os.Lstat(dir)
	return err == nil && fi.IsDir()
}

// Remove deletes a layer: first renamed to a ".removing-<hex>" name (so a
// crash leaves a name Open cleans up), then removed. Removing an absent layer
// is not an error.
func (s *Store) Remove(chainID digest.Digest) error {
	if err := validateChainID(chainID); err != nil {
		return err
	}
	dying := filepath.Join(s.root, removingPrefix+chainID.Encoded())
	err := os.Rename(s.Path(chainID), dying)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
		// Left by an earlier Remove that failed halfway.
		if err = os.RemoveAll(dying); err == nil {
			err = os.Rename(s.Path(chainID), dying)
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		// Make the rename durable: the caller forgets the layer once we return.
		err = syncDir(s.root)
	}
	if err == nil {
		err = os.RemoveAll(dying)
	}
	if err != nil {
		return fmt.Errorf("remove layer %s: %w", chainID, err)
	}
	return nil
}

// Walk calls fn for each committed layer (skips temp and removing dirs). It
// stops at the first error fn returns and returns it.
func (s *Store) Walk(fn func(chainID digest.Digest) error) error {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return fmt.Errorf("list layers: %w", err)
	}
	for _, e := range entries {
		chainID, ok := chainIDOfDir(e.Name())
		if !ok || !e.IsDir() {
			continue
		}
		if err := fn(chainID); err != nil {
			return err
		}
	}
	return nil
}

// ChainID computes the OCI chain ID: ChainID(L0) = DiffID(L0);
// ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln)). parent is
// "" for the base layer.
func ChainID(parent, diffID digest.Digest) digest.Digest {
	if parent == "" {
		return diffID
	}
	return digest.FromString(parent.String() + " " + diffID.String())
}

func validateChainID(chainID digest.Digest) error {
	if err := chainID.Validate(); err != nil {
		return invalid("invalid chain ID %q: %v", chainID, err)
	}
	return nil
}

// chainIDOfDir recovers a chain ID from a layer directory name. The hex
// length tells the algorithm apart; anything else (dot dirs included) is not
// a layer.
func chainIDOfDir(name string) (digest.Digest, bool) {
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA384, digest.SHA512} {
		d := digest.NewDigestFromEncoded(alg, name)
		if d.Validate() == nil {
			return d, true
		}
	}
	return "", false
}

// syncFS flushes the filesystem holding dir: one call instead of an fsync per
// unpacked file.
func syncFS(dir string) error {
	return withDir(dir, unix.Syncfs)
}

func syncDir(dir string) error {
	return withDir(dir, unix.Fsync)
}

func withDir(dir string, fn func(fd int) error) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	if err := fn(fd); err != nil {
		return &os.PathError{Op: "sync", Path: dir, Err: err}
	}
	return nil
}
