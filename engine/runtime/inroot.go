package runtime

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Paths inside the container are resolved against a descriptor of its root
// directory, as if that directory were "/": an absolute symlink or a ".."
// in the image can never lead out of it (openat2's RESOLVE_IN_ROOT), and
// magic links (/proc/self/fd/N, /proc/1/root...) are refused. Mounts are
// then made on the descriptor, not on a path that could be swapped
// (CVE-2021-30465).

// inRoot are the resolve flags for a path inside the container.
const inRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// openInRoot opens name relative to root with flags (plus O_CLOEXEC).
func openInRoot(root int, name string, flags int, resolve uint64) (int, error) {
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: resolve}
	for {
		fd, err := unix.Openat2(root, name, how)
		// EAGAIN: a concurrent rename raced the resolution; try again.
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: name, Err: err}
		}
		return fd, nil
	}
}

// nodeKind is what ensureInRoot creates when the path is missing.
type nodeKind int

const (
	kindDir  nodeKind = iota // directories all the way
	kindFile                 // directories, then an empty file
)

// maxSymlinks is the kernel's limit on symlinks followed in one resolution.
const maxSymlinks = 40

// ensureInRoot opens name (O_PATH) inside root, creating what is missing:
// directories (0755) and, for kindFile, the last component as an empty file
// (0644). Symlinks are followed as if root were "/", so a dangling link in
// the image that points to "/../../somewhere" creates root/somewhere.
// created, if not nil, is called with each node created.
func ensureInRoot(root int, name string, kind nodeKind, created func(fd int) error) (int, error) {
	fd, err := openInRoot(root, name, unix.O_PATH, inRoot)
	if err == nil {
		return fd, checkKind(fd, name, kind)
	}
	if !errors.Is(err, unix.ENOENT) {
		return -1, err
	}
	return createInRoot(root, name, kind, created)
}

// createInRoot is ensureInRoot's slow path: it walks name one component at
// a time, each opened with no symlink followed, keeping the directories
// walked through on a stack so that ".." never climbs above root.
func createInRoot(root int, name string, kind nodeKind, created func(fd int) error) (int, error) {
	first, err := unix.Dup(root)
	if err != nil {
		return -1, err
	}
	dirs := []int{first}
	defer func() {
		for _, d := range dirs {
			unix.Close(d)
		}
	}()
	parts := splitPath(name)
	links := 0
	for len(parts) > 0 {
		part := parts[0]
		parts = parts[1:]
		if part == ".." {
			if len(dirs) > 1 {
				unix.Close(dirs[len(dirs)-1])
				dirs = dirs[:len(dirs)-1]
			}
			continue
		}
		last := len(parts) == 0
		fd, err := openOrCreate(dirs[len(dirs)-1], part, last && kind == kindFile, created)
		if err != nil {
			return -1, &os.PathError{Op: "create", Path: name, Err: err}
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			target, err := readlinkFD(fd)
			unix.Close(fd)
			if err != nil {
				return -1, err
			}
			if links++; links > maxSymlinks {
				return -1, &os.PathError{Op: "create", Path: name, Err: unix.ELOOP}
			}
			if strings.HasPrefix(target, "/") {
				for _, d := range dirs[1:] {
					unix.Close(d)
				}
				dirs = dirs[:1]
			}
			parts = append(splitPath(target), parts...)
		case unix.S_IFDIR:
			dirs = append(dirs, fd)
		default:
			if !last {
				unix.Close(fd)
				return -1, &os.PathError{Op: "create", Path: name, Err: unix.ENOTDIR}
			}
			if err := checkKind(fd, name, kind); err != nil {
				unix.Close(fd)
				return -1, err
			}
			return fd, nil
		}
	}
	// The path ended on a directory: the top of the stack.
	fd := dirs[len(dirs)-1]
	if len(dirs) == 1 {
		if fd, err = unix.Dup(fd); err != nil {
			return -1, err
		}
	} else {
		dirs = dirs[:len(dirs)-1]
	}
	if err := checkKind(fd, name, kind); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// openOrCreate opens the entry part of dir as O_PATH without following it,
// first creating it (a file if file, else a directory) if it is missing.
func openOrCreate(dir int, part string, file bool, created func(fd int) error) (int, error) {
	const flags = unix.O_PATH | unix.O_NOFOLLOW
	const resolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS
	fd, err := openInRoot(dir, part, flags, resolve)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	if file {
		var f int
		f, err = unix.Openat(dir, part, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err == nil {
			unix.Close(f)
		}
	} else {
		err = unix.Mkdirat(dir, part, 0o755)
	}
	if err != nil && !errors.Is(err, unix.EEXIST) { // EEXIST: raced, use theirs
		return -1, err
	}
	if fd, err = openInRoot(dir, part, flags, resolve); err != nil {
		return -1, err
	}
	if created != nil {
		if err := created(fd); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

// checkKind checks that fd is a directory for kindDir and not one for
// kindFile.
func checkKind(fd int, name string, kind nodeKind) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: name, Err: err}
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	switch {
	case kind == kindDir && !isDir:
		return &os.PathError{Op: "open", Path: name, Err: unix.ENOTDIR}
	case kind == kindFile && isDir:
		return &os.PathError{Op: "open", Path: name, Err: unix.EISDIR}
	}
	return nil
}

// readlinkFD reads the target of the symlink fd (opened O_PATH|O_NOFOLLOW).
func readlinkFD(fd int) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", fmt.Errorf("readlink: %w", err)
	}
	return string(buf[:n]), nil
}

// splitPath splits p into its components, without empty ones or ".".
func splitPath(p string) []string {
	var parts []string
	for _, s := range strings.Split(p, "/") {
		if s != "" && s != "." {
			parts = append(parts, s)
		}
	}
	return parts
}
