package copier

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds the symlinks makeDirs follows through, as the kernel's
// own limit bounds a lookup.
const maxSymlinks = 40

// makeDirs opens the directory name (relative) of the tree, creating what is
// missing 0755 and owned by owner. Symlinks on the way resolve by the tree's
// rule; one that dangles is created through, as Docker's MkdirAll in the
// image does: in a rootfs, /evil -> /tmp/outside makes /tmp/outside inside
// the image.
func (r *Root) makeDirs(name string, owner Owner) (int, error) {
	elems := splitPath(name)
	fd, err := r.open(".", unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return -1, err
	}
	hops := 0
	for i := 0; i < len(elems); i++ {
		prefix := path.Join(elems[:i+1]...)
		next, err := r.open(prefix, unix.O_RDONLY|unix.O_DIRECTORY)
		if errors.Is(err, unix.ENOENT) {
			var target string
			next, target, err = r.mkdirIn(fd, elems[i], prefix, owner)
			if err == nil && next < 0 {
				// A dangling symlink: go on from where it points.
				if hops++; hops > maxSymlinks {
					unix.Close(fd)
					return -1, &os.PathError{Op: "mkdir", Path: name, Err: unix.ELOOP}
				}
				if !path.IsAbs(target) {
					target = path.Join(path.Join(elems[:i]...), target)
				}
				elems = append(splitPath(relative(path.Join("/", target))), elems[i+1:]...)
				unix.Close(fd)
				if fd, err = r.open(".", unix.O_RDONLY|unix.O_DIRECTORY); err != nil {
					return -1, err
				}
				i = -1
				continue
			}
		}
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// mkdirIn creates the directory base in parent, the directory holding
// prefix, and opens it. If base is a symlink (which cannot have resolved,
// since prefix was missing), it returns -1 and the symlink's target.
func (r *Root) mkdirIn(parent int, base, prefix string, owner Owner) (int, string, error) {
	err := unix.Mkdirat(parent, base, 0o755)
	if errors.Is(err, unix.EEXIST) {
		if target, linkErr := readlinkAt(parent, base); linkErr == nil {
			return -1, target, nil
		}
		// Made meanwhile by someone else: use it.
	} else if err == nil {
		// mkdirat applies the umask; Docker's directories are 0755.
		err = unix.Fchownat(parent, base, owner.UID, owner.GID, unix.AT_SYMLINK_NOFOLLOW)
		if err == nil {
			err = unix.Fchmodat(parent, base, 0o755, 0)
		}
	}
	if err != nil {
		return -1, "", fmt.Errorf("create directory %s: %w", prefix, err)
	}
	fd, err := r.open(prefix, unix.O_RDONLY|unix.O_DIRECTORY)
	return fd, "", err
}

// isDir reports whether name (relative) is a directory, symlinks resolved by
// the tree's rule.
func (r *Root) isDir(name string) bool {
	fd, err := r.open(name, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// splitPath splits a relative path into its elements; "." has none.
func splitPath(name string) []string {
	if name == "." || name == "" {
		return nil
	}
	return strings.Split(name, "/")
}
