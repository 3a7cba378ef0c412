// Package copier copies files into an image's root filesystem for the
// Dockerfile instructions COPY and ADD, with Docker's rules, through file
// descriptors only: a source never leads outside its tree, and writing never
// follows a symlink out of the image.
package copier

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// Root is a directory tree reached only through its file descriptor.
type Root struct {
	dir *os.File
	// resolve is how openat2 resolves paths in the tree.
	resolve uint64
	// context is set for a build context, whose sources errors name so.
	context bool
	// owned is set when Close must close dir.
	owned bool
}

// OpenContext opens the build context unpacked in dir. Symlinks in it
// resolve beneath it: one that leads outside fails as a source with an error
// naming it ("forbidden path outside the build context: PATH").
func OpenContext(dir string) (*Root, error) {
	f, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, fmt.Errorf("open build context: %w", err)
	}
	return &Root{dir: f, resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS, context: true, owned: true}, nil
}

// OpenRootfs makes a Root of an image's root filesystem, open as f (a
// directory, such as a detached overlay mount). Symlinks in it resolve as if
// it were "/", as they do in a container. The Root does not own f: Close
// leaves it open.
func OpenRootfs(f *os.File) *Root {
	return &Root{dir: f, resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
}

// Close releases the Root.
func (r *Root) Close() error {
	if !r.owned {
		return nil
	}
	return r.dir.Close()
}

func (r *Root) fd() int { return int(r.dir.Fd()) }

// relative turns a path in the tree ("/etc/passwd", "./src/", "") into the
// clean relative form openat2 takes ("etc/passwd", "src", "."). A leading
// ".." is kept: the tree's resolve rule decides what it means (an error in a
// build context, the root itself in a rootfs).
func relative(name string) string {
	name = strings.TrimLeft(path.Clean(name), "/")
	if name == "" {
		return "."
	}
	return name
}

// open opens name (relative) in the tree with flags, resolving symlinks by
// the tree's rule.
func (r *Root) open(name string, flags int) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags) | unix.O_CLOEXEC, Resolve: r.resolve}
	var fd int
	var err error
	// openat2 returns EAGAIN when a concurrent rename may have raced with the
	// lookup; it is safe to retry.
	for range 16 {
		fd, err = unix.Openat2(r.fd(), name, &how)
		if err != unix.EAGAIN && err != unix.EINTR {
			break
		}
	}
	if errors.Is(err, unix.EXDEV) && r.context {
		return -1, errdefs.ErrInvalidArgument.WithMessage("forbidden path outside the build context: " + name)
	}
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return fd, nil
}

// openPath opens name as an O_PATH descriptor and stats it: what a source
// names, whatever it is, without opening a device or blocking on a FIFO.
func (r *Root) openPath(name string) (int, *unix.Stat_t, error) {
	fd, err := r.open(name, unix.O_PATH)
	if err != nil {
		return -1, nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, nil, &os.PathError{Op: "stat", Path: name, Err: err}
	}
	return fd, &st, nil
}

// reopen opens for reading the file an O_PATH descriptor holds. The
// /proc/self/fd link resolves to that very inode, not to a path.
func reopen(pathFd int, name string) (*os.File, error) {
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pathFd), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// ReadFile reads the regular file name of the tree ("/etc/passwd"), refusing
// one larger than limit bytes. A missing file fails with an error matching
// fs.ErrNotExist.
func (r *Root) ReadFile(name string, limit int64) ([]byte, error) {
	name = relative(name)
	pathFd, st, err := r.openPath(name)
	if err != nil {
		return nil, err
	}
	defer unix.Close(pathFd)
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, errdefs.ErrInvalidArgument.WithMessage(name + " is not a regular file")
	}
	f, err := reopen(pathFd, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("%s is larger than %d bytes", name, limit))
	}
	return data, nil
}

// isNotExist reports whether err says a path does not exist, or that a
// component of it is not a directory: either way it names nothing.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR)
}
