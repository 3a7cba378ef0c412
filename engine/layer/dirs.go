package layer

import (
	"errors"
	"fmt"
	"path"

	"golang.org/x/sys/unix"
)

// parentDir returns an fd for the directory name (relative to the layer
// root), creating it and its missing parents as Docker does. The fd belongs to
// the applier's cache: callers must not close it.
func (a *applier) parentDir(name string) (int, error) {
	if name == "." {
		return a.root, nil
	}
	if a.parent.fd >= 0 && a.parent.name == name {
		return a.parent.fd, nil
	}
	fd, err := a.openDir(name, true)
	if err != nil {
		return -1, err
	}
	a.dropParent()
	a.parent = openDir{name: name, fd: fd}
	return fd, nil
}

// openDir opens the directory name beneath the layer root without following
// symlinks, creating missing directories if create is set. Close the result
// with closeDir.
func (a *applier) openDir(name string, create bool) (int, error) {
	if name == "." {
		return a.root, nil
	}
	fd, err := a.openDirAt(a.root, name)
	if create && errors.Is(err, unix.ENOENT) {
		return a.mkdirAll(name)
	}
	return fd, err
}

func (a *applier) closeDir(fd int) {
	if fd != a.root {
		unix.Close(fd)
	}
}

// mkdirAll opens name beneath the layer root one component at a time,
// creating those missing. Each prefix is opened from the root, so that with
// ApplyOptions.InRoot a symlink on the way resolves as in the root, not in
// the directory holding it.
func (a *applier) mkdirAll(name string) (int, error) {
	fd := a.root
	for i := range len(name) + 1 {
		if i < len(name) && name[i] != '/' {
			continue
		}
		child, err := a.openOrMkdir(fd, name[:i])
		a.closeDir(fd)
		if err != nil {
			return -1, err
		}
		fd = child
	}
	return fd, nil
}

// openOrMkdir opens the directory prefix (relative to the root), creating it
// in parent, the directory holding it, if it is missing.
func (a *applier) openOrMkdir(parent int, prefix string) (int, error) {
	fd, err := a.openDirAt(a.root, prefix)
	if !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	base := path.Base(prefix)
	err = unix.Mkdirat(parent, base, 0o755)
	if err == nil {
		// mkdirat applies the umask; implied directories are 0755 as in Docker.
		err = unix.Fchmodat(parent, base, 0o755, 0)
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("create parent directory %q: %w", prefix, err)
	}
	return a.openDirAt(a.root, prefix)
}

// setDirTimes sets the times of the directory entries, now that nothing more
// will be created in them.
func (a *applier) setDirTimes() error {
	for name, ts := range a.dirTimes {
		fd, err := a.openDirAt(a.root, name)
		if err != nil {
			return fmt.Errorf("%s entry %q: set times: %w", a.noun, name, err)
		}
		err = unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("%s entry %q: set times: %w", a.noun, name, err)
		}
	}
	return nil
}
