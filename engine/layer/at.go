package layer

import (
	"archive/tar"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Low-level helpers working relative to directory file descriptors, so that
// no path is ever resolved through a symlink.

// openDirAt opens the directory name (relative, cleaned) beneath dirfd. A
// layer refuses to follow any symlink on the way; an archive unpacked with
// ApplyOptions.InRoot follows them as if dirfd were the root.
func (a *applier) openDirAt(dirfd int, name string) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	if a.opts.InRoot {
		how.Resolve = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS
	}
	var err error
	// openat2 returns EAGAIN when a concurrent rename may have raced with the
	// lookup; it is safe to retry.
	for range 16 {
		var fd int
		fd, err = unix.Openat2(dirfd, name, &how)
		if err != unix.EAGAIN && err != unix.EINTR {
			return fd, a.openError(name, err)
		}
	}
	return -1, a.openError(name, err)
}

func (a *applier) openError(name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ELOOP) && !a.opts.InRoot:
		return invalid("write through symlink (in %q)", name)
	case errors.Is(err, unix.EXDEV):
		return invalid("path escapes the %s (%q)", a.noun, name)
	case errors.Is(err, unix.ENOTDIR):
		return invalid("%q is not a directory", name)
	}
	return &os.PathError{Op: "open", Path: name, Err: err}
}

// isDirAt reports whether name in dirfd is a directory (not a symlink to one).
func isDirAt(dirfd int, name string) bool {
	var st unix.Stat_t
	err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// RemoveAt removes name (one path component) in the directory dirfd,
// whatever it is, including a directory tree. It never follows symlinks. A
// missing name is not an error.
func RemoveAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) {
		return err
	}
	if err := emptyDirAt(dirfd, name); err != nil {
		return err
	}
	return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}

func emptyDirAt(dirfd int, name string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	dir := os.NewFile(uintptr(fd), name)
	defer dir.Close()
	children, err := dir.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, child := range children {
		if err := RemoveAt(fd, child); err != nil {
			return err
		}
	}
	return nil
}

// paxXattrPrefix marks extended attributes in PAX records.
const paxXattrPrefix = "SCHILY.xattr."

// setXattrsAt applies the extended attributes of a tar entry to name in dirfd
// without following a symlink at name. trusted.* attributes are skipped: they
// are overlayfs's own metadata (opaque dirs, redirects) and a layer must not
// forge them.
func setXattrsAt(dirfd int, name string, paxRecords map[string]string) error {
	if len(paxRecords) == 0 {
		return nil
	}
	// There is no lsetxattrat syscall in x/sys yet; the /proc/self/fd magic
	// link resolves to dirfd itself, and lsetxattr does not follow name.
	procPath := "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + name
	for key, value := range paxRecords {
		attr, ok := strings.CutPrefix(key, paxXattrPrefix)
		if !ok || strings.HasPrefix(attr, "trusted.") {
			continue
		}
		err := unix.Lsetxattr(procPath, attr, []byte(value), 0)
		// Like Docker, skip attributes the filesystem or file type cannot hold
		// (user.* on symlinks and devices gives EPERM).
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) {
			continue
		}
		if err != nil {
			return fmt.Errorf("set xattr %q: %w", attr, err)
		}
	}
	return nil
}

// entryTimes returns the access and modification times of a tar entry in the
// form utimensat wants. Tars without an access time get the modification time.
func entryTimes(hdr *tar.Header) ([]unix.Timespec, error) {
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	ts := make([]unix.Timespec, 2)
	var err error
	for i, t := range []time.Time{atime, hdr.ModTime} {
		if ts[i], err = unix.TimeToTimespec(t); err != nil {
			return nil, invalid("time %v out of range", t)
		}
	}
	return ts, nil
}
