package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/containerd/errdefs"
)

// ReadExit reads the exit record a monitor left in stateDir. It returns
// errdefs.ErrNotFound when there is none: the container has not exited, or
// its monitor died before it could record the exit.
func ReadExit(stateDir string) (Exit, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, exitFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Exit{}, errdefs.ErrNotFound.WithMessage("no exit record in " + stateDir)
	}
	if err != nil {
		return Exit{}, fmt.Errorf("read exit record: %w", err)
	}
	var e Exit
	if err := json.Unmarshal(b, &e); err != nil {
		return Exit{}, fmt.Errorf("read exit record %s: %w", filepath.Join(stateDir, exitFile), err)
	}
	return e, nil
}

// writeJSON stores v as JSON in dir/name, atomically.
func writeJSON(dir, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, name, b)
}

// writePid stores pid in dir/name, atomically.
func writePid(dir, name string, pid int) error {
	return writeFileAtomic(dir, name, []byte(strconv.Itoa(pid)+"\n"))
}

// writeFileAtomic replaces dir/name with data so that a reader, or a crash
// at any moment, sees the old file or the new one, never a part: it writes
// a temporary file, syncs it, renames it over name and syncs dir.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
