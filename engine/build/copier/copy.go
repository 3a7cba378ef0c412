package copier

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/skiff-dev/skiff/engine/compression"
	"github.com/skiff-dev/skiff/engine/layer"
	"golang.org/x/sys/unix"
)

// Owner is who copied files belong to (--chown).
type Owner struct{ UID, GID int }

// Options are COPY's and ADD's flags.
type Options struct {
	// Owner owns everything copied and the directories created for it
	// (--chown); nil means root, as the classic builder copies.
	Owner *Owner
	// Unpack is ADD's: a source file that is a tar archive (plain, gzip,
	// bzip2, xz or zstd, known by its content, not its name) is unpacked into
	// the destination directory instead of copied. Its entries keep their
	// own owners and modes, .wh.* entries are plain files, and parent
	// directories in it that are symlinks in the image are followed inside
	// the image, as Docker unpacks.
	Unpack bool
}

// Copy copies paths of src (as Match returns them) into dst at dest, an
// absolute path in the image (the caller joins a relative one with WORKDIR
// first), with Docker's rules:
//
//   - dest ending in "/", or more than one source, is a directory, created if
//     missing (the classic builder refuses several sources to a dest without
//     "/": that check is the caller's);
//   - a directory source copies its contents, not itself, into dest;
//   - a file goes inside dest if dest is an existing directory, else becomes
//     dest;
//   - missing directories on the way are created 0755, owned by Owner;
//   - files keep their mode and times and belong to Owner; symlinks inside a
//     directory are copied as symlinks, while a source that is a symlink is
//     followed (by src's rules); hard links are not kept (each name gets its
//     own copy); sockets are skipped;
//   - dest resolves in dst as in a container (symlinks stay inside the
//     image); below it, nothing is written through a symlink: an existing
//     entry at a target name, symlink or not, is replaced (a directory over a
//     directory merges).
func Copy(ctx context.Context, dst *Root, dest string, src *Root, paths []string, opts Options) error {
	c := copier{ctx: ctx, dst: dst, src: src, opts: opts}
	if opts.Owner != nil {
		c.owner = *opts.Owner
	}
	destDir := strings.HasSuffix(dest, "/") || len(paths) > 1
	for _, p := range paths {
		if err := c.copySource(relative(p), relative(dest), destDir); err != nil {
			return fmt.Errorf("copy %s to %s: %w", p, dest, err)
		}
	}
	return nil
}

type copier struct {
	ctx      context.Context
	dst, src *Root
	opts     Options
	owner    Owner
}

func (c *copier) copySource(source, dest string, destDir bool) error {
	fd, st, err := c.src.openPath(source)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		dir, err := c.dst.makeDirs(dest, c.owner)
		if err != nil {
			return err
		}
		defer unix.Close(dir)
		return c.copyChildren(fd, source, dir)
	}
	if c.opts.Unpack && st.Mode&unix.S_IFMT == unix.S_IFREG {
		unpacked, err := c.unpackArchive(fd, source, dest)
		if unpacked || err != nil {
			return err
		}
	}
	if destDir || c.dst.isDir(dest) {
		dest = path.Join(dest, path.Base(source))
	}
	// Docker creates the directories leading to a file source with Owner,
	// and those of an archive's destination (in unpackArchive) with root.
	parent, err := c.dst.makeDirs(path.Dir(dest), c.owner)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	return c.copyEntry(fd, st, source, parent, path.Base(dest))
}

// copyChildren copies the contents of the directory open as fd (O_PATH or
// not) into the directory dir.
func (c *copier) copyChildren(fd int, source string, dir int) error {
	srcDir, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: source, Err: err}
	}
	f := os.NewFile(uintptr(srcDir), source)
	defer f.Close()
	children, err := f.Readdirnames(-1)
	if err != nil {
		return &os.PathError{Op: "read directory", Path: source, Err: err}
	}
	slices.Sort(children)
	for _, child := range children {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		childFd, err := unix.Openat(srcDir, child, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: path.Join(source, child), Err: err}
		}
		var st unix.Stat_t
		if err = unix.Fstat(childFd, &st); err == nil {
			err = c.copyEntry(childFd, &st, path.Join(source, child), dir, child)
		}
		unix.Close(childFd)
		if err != nil {
			return err
		}
	}
	return nil
}

// copyEntry copies the entry open as the O_PATH descriptor fd (stat st) to
// name in the directory parent, replacing what is there.
func (c *copier) copyEntry(fd int, st *unix.Stat_t, source string, parent int, name string) error {
	var err error
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return c.copyDir(fd, st, source, parent, name)
	case unix.S_IFREG:
		err = c.copyFile(fd, st, source, parent, name)
	case unix.S_IFLNK:
		var target string
		if target, err = readlinkAt(fd, ""); err == nil {
			err = replace(parent, name, func() error { return unix.Symlinkat(target, parent, name) })
		}
	case unix.S_IFIFO, unix.S_IFCHR, unix.S_IFBLK:
		err = replace(parent, name, func() error { return unix.Mknodat(parent, name, st.Mode&unix.S_IFMT|0o600, int(st.Rdev)) })
	default:
		return nil // a socket: Docker's tar copy leaves them out too
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", source, err)
	}
	return c.setMetadata(parent, name, st, source)
}

// copyDir copies a directory: an existing directory at name is kept and
// takes the source's metadata; anything else there is replaced.
func (c *copier) copyDir(fd int, st *unix.Stat_t, source string, parent int, name string) error {
	var existing unix.Stat_t
	err := unix.Fstatat(parent, name, &existing, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil || existing.Mode&unix.S_IFMT != unix.S_IFDIR {
		err = replace(parent, name, func() error { return unix.Mkdirat(parent, name, 0o700) })
		if err != nil {
			return fmt.Errorf("copy %s: %w", source, err)
		}
	}
	dir, err := unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("copy %s: %w", source, err)
	}
	defer unix.Close(dir)
	if err := c.copyChildren(fd, source, dir); err != nil {
		return err
	}
	// Last, since creating children changes the directory's times.
	return c.setMetadata(parent, name, st, source)
}

func (c *copier) copyFile(fd int, st *unix.Stat_t, source string, parent int, name string) error {
	in, err := reopen(fd, source)
	if err != nil {
		return err
	}
	defer in.Close()
	var outFd int
	err = replace(parent, name, func() (err error) {
		outFd, err = unix.Openat(parent, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		return err
	})
	if err != nil {
		return err
	}
	out := os.NewFile(uintptr(outFd), name)
	err = c.copyContent(out, in)
	if closeErr := out.Close(); err == nil {
		err = closeErr
	}
	return err
}

// copyContent copies in to out in large chunks, checking ctx between them.
// Between files, os.File uses copy_file_range: no copy through user space,
// and a reflink where the filesystem can.
func (c *copier) copyContent(out, in *os.File) error {
	const chunk = 64 << 20
	for {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		_, err := io.CopyN(out, in, chunk)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// setMetadata gives name in parent its owner, the mode and times of st.
func (c *copier) setMetadata(parent int, name string, st *unix.Stat_t, source string) error {
	if err := unix.Fchownat(parent, name, c.owner.UID, c.owner.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("copy %s: chown: %w", source, err)
	}
	// After chown, which clears setuid and setgid. Symlinks have no mode of
	// their own, and fchmodat would follow them.
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Fchmodat(parent, name, st.Mode&0o7777, 0); err != nil {
			return fmt.Errorf("copy %s: chmod: %w", source, err)
		}
	}
	times := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(parent, name, times, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("copy %s: set times: %w", source, err)
	}
	return nil
}

// replace runs mk, which creates name in parent, after removing whatever is
// there if mk finds the name taken.
func replace(parent int, name string, mk func() error) error {
	err := mk()
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	if err := layer.RemoveAt(parent, name); err != nil {
		return fmt.Errorf("replace %s: %w", name, err)
	}
	return mk()
}

// unpackArchive unpacks the file open as fd into the directory dest if it is
// a tar archive, and reports whether it was one.
func (c *copier) unpackArchive(fd int, source, dest string) (bool, error) {
	f, err := reopen(fd, source)
	if err != nil {
		return false, err
	}
	defer f.Close()
	plain, _, err := compression.Decompress(f)
	if err != nil {
		return false, nil // compressed data that is not a tar, as far as ADD cares
	}
	defer plain.Close()
	archive := bufio.NewReaderSize(plain, 64<<10)
	head, _ := archive.Peek(layer.TarBlockSize)
	if !layer.IsTarHeader(head) {
		return false, nil
	}
	dir, err := c.dst.makeDirs(dest, Owner{})
	if err != nil {
		return true, err
	}
	dirFile := os.NewFile(uintptr(dir), dest)
	defer dirFile.Close()
	opts := layer.ApplyOptions{Plain: true, InRoot: true}
	if _, err := layer.ApplyAt(c.ctx, dirFile, archive, opts); err != nil {
		return true, fmt.Errorf("unpack %s: %w", source, err)
	}
	return true, nil
}
