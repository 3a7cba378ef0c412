package copier

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"slices"

	"github.com/opencontainers/go-digest"
	"github.com/skiff-dev/skiff/engine/ctxio"
	"golang.org/x/sys/unix"
)

// Checksum digests what copying paths (as Match returns them) would produce:
// each source's name, and below it every entry's relative name, type, mode,
// symlink target, device number and file content. Owners and times are left
// out, so the builder's cache sees any change of a source but not a fresh
// checkout. Sources are followed if they are symlinks, as Copy follows them.
// It reads everything once, into one sha256.
func (r *Root) Checksum(ctx context.Context, paths []string) (digest.Digest, error) {
	s := summer{ctx: ctx, h: sha256.New()}
	for _, p := range paths {
		name := relative(p)
		fd, st, err := r.openPath(name)
		if err != nil {
			return "", err
		}
		err = s.add(fd, st, name, name)
		unix.Close(fd)
		if err != nil {
			return "", fmt.Errorf("checksum %s: %w", name, err)
		}
	}
	return digest.NewDigest(digest.SHA256, s.h), nil
}

type summer struct {
	ctx context.Context
	h   hash.Hash
}

// add digests the entry open as the O_PATH descriptor fd, with stat st,
// recorded as name; source is its path in the tree, for errors.
func (s *summer) add(fd int, st *unix.Stat_t, name, source string) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	var target string
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		var err error
		if target, err = readlinkAt(fd, ""); err != nil {
			return err
		}
	}
	var size int64
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		size = st.Size
	}
	// Each field ends in NUL, which no name or target holds, and the content
	// length is in the record: records cannot run into each other.
	fmt.Fprintf(s.h, "%s\x00%o\x00%d\x00%s\x00%d\x00", name, st.Mode, st.Rdev, target, size)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return s.addContent(fd, source, size)
	case unix.S_IFDIR:
		return s.addChildren(fd, name, source)
	}
	return nil
}

// addContent digests exactly size bytes of the file, so that a file growing
// meanwhile cannot shift the records after it.
func (s *summer) addContent(fd int, source string, size int64) error {
	f, err := reopen(fd, source)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(s.h, io.LimitReader(ctxio.Reader(s.ctx, f), size))
	if err != nil {
		return fmt.Errorf("read %s: %w", source, err)
	}
	if n != size {
		return fmt.Errorf("read %s: file changed while being read", source)
	}
	return nil
}

func (s *summer) addChildren(fd int, name, source string) error {
	dirFd, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: source, Err: err}
	}
	dir := os.NewFile(uintptr(dirFd), source)
	defer dir.Close()
	children, err := dir.Readdirnames(-1)
	if err != nil {
		return &os.PathError{Op: "read directory", Path: source, Err: err}
	}
	slices.Sort(children)
	for _, child := range children {
		childFd, err := unix.Openat(dirFd, child, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: path.Join(source, child), Err: err}
		}
		var st unix.Stat_t
		if err = unix.Fstat(childFd, &st); err == nil {
			err = s.add(childFd, &st, path.Join(name, child), path.Join(source, child))
		}
		unix.Close(childFd)
		if err != nil {
			return err
		}
	}
	return nil
}

// readlinkAt returns the target of the symlink name in dirfd ("" for dirfd
// itself, an O_PATH descriptor of a symlink).
func readlinkAt(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", fmt.Errorf("readlink: %w", err)
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}
