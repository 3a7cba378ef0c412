package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// lookPath finds the process's executable as Docker does: Args[0] as given
// when it has a slash, else the first executable file of that name in the
// directories of the container's PATH (from the process's environment).
// It runs as the process's user, inside the container.
func (p *processSetup) lookPath() error {
	name := p.process.Args[0]
	path, err := lookPath(name, getEnv(p.env, "PATH"))
	if err != nil {
		return execFailure(name, err)
	}
	p.path = path
	return nil
}

// errNotInPath is exec.ErrNotFound's text, which Docker's users know.
var errNotInPath = errors.New("executable file not found in $PATH")

func lookPath(name, pathEnv string) (string, error) {
	if strings.Contains(name, "/") {
		return name, findExecutable(name)
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "." // POSIX: an empty PATH entry is the working directory
		}
		path := filepath.Join(dir, name)
		if findExecutable(path) == nil {
			return path, nil
		}
	}
	return "", errNotInPath
}

// findExecutable checks that path is a file the process may execute. A
// directory is "permission denied", as Docker reports it.
func findExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return os.ErrPermission
	}
	if err := unix.Faccessat2(unix.AT_FDCWD, path, unix.X_OK, unix.AT_EACCESS); err != nil {
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			return os.ErrPermission
		}
		return err
	}
	return nil
}

// execFailure is the error for a process that could not be executed, worded
// as Docker words it (`exec: "nosuch": executable file not found in
// $PATH`) and classed so that the CLI exits 127 for a missing executable
// and 126 for one that may not run.
func execFailure(name string, err error) error {
	msg := fmt.Sprintf("exec: %q: %v", name, err)
	switch {
	case errors.Is(err, errNotInPath), errors.Is(err, os.ErrNotExist):
		return errdefs.ErrNotFound.WithMessage(msg)
	case errors.Is(err, os.ErrPermission), errors.Is(err, unix.EISDIR), errors.Is(err, unix.ETXTBSY):
		return errdefs.ErrPermissionDenied.WithMessage(msg)
	}
	return errdefs.ErrUnknown.WithMessage(msg)
}
