package logfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// rotatedName returns the name of the file that is n rotations old:
// path itself for n == 0, path.n otherwise.
func rotatedName(path string, n int) string {
	if n == 0 {
		return path
	}
	return path + "." + strconv.Itoa(n)
}

// chainNames lists the existing files of the log at path, oldest first:
// path.N, …, path.1, path.
func chainNames(path string) ([]string, error) {
	ages, err := chainAges(path)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ages))
	for i, n := range ages {
		names[i] = rotatedName(path, n)
	}
	return names, nil
}

// chainAges returns the ages of the existing files of the log at path,
// oldest first: N, …, 1, and 0 for path itself. It lists the directory
// rather than probing path.1, path.2, … so that a gap left by an
// interrupted rotation does not hide older files.
func chainAges(path string) ([]int, error) {
	entries, err := os.ReadDir(filepath.Dir(path))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list log files: %w", err)
	}
	base := filepath.Base(path)
	var ages []int
	for _, e := range entries {
		if n, ok := rotationAge(base, e.Name()); ok {
			ages = append(ages, n)
		}
	}
	slices.SortFunc(ages, func(a, b int) int { return b - a })
	return ages, nil
}

// rotationAge reports whether name is a file of the log named base: base
// itself (age 0) or base.N (N ≥ 1, without leading zeros). It returns N.
func rotationAge(base, name string) (int, bool) {
	if name == base {
		return 0, true
	}
	suffix, ok := strings.CutPrefix(name, base+".")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(suffix)
	if err != nil || n < 1 || strconv.Itoa(n) != suffix {
		return 0, false
	}
	return n, true
}

// shiftFiles makes room for a new current file: it renames every file a
// step older, path becoming path.1, and removes those that would be
// maxFiles or more steps old (with maxFiles 1, path itself). Going from the
// oldest, no rename replaces a file; a gap left by an interrupted rotation
// stays a gap.
func shiftFiles(path string, maxFiles int) error {
	ages, err := chainAges(path)
	if err != nil {
		return err
	}
	for _, n := range ages {
		name := rotatedName(path, n)
		if n+1 >= maxFiles {
			err = os.Remove(name)
		} else {
			err = os.Rename(name, rotatedName(path, n+1))
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotate log: %w", err)
		}
	}
	return nil
}

// lockName returns the name of the lock file of the log at path.
func lockName(path string) string { return path + ".lock" }

// lockChain keeps the writer from rotating until unlock is called, by
// holding a shared flock on the lock file. Without a lock file, no writer
// has run, and unlock does nothing.
func lockChain(path string) (unlock func(), err error) {
	f, err := os.Open(lockName(path))
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open log lock: %w", err)
	}
	if err := flock(f, unix.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock log: %w", err)
	}
	return func() { f.Close() }, nil // closing releases the lock
}

// isCurrent reports whether f is the file currently named path.
func isCurrent(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("stat log: %w", err)
	}
	pi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat log: %w", err)
	}
	return os.SameFile(fi, pi), nil
}

// flock applies flock(2) operation how to f, retrying when interrupted.
func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = rc.Control(func(fd uintptr) {
		for {
			ferr = unix.Flock(int(fd), how)
			if ferr != unix.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return ferr
}
