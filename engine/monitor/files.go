package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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

// writeExit stores the exit record in dir, atomically but not yet durably:
// syncExit makes it durable once the waiters have been told (a sync, with
// the journal commit it brings, took about a millisecond before them). A
// crash of the machine in between loses the record, which a crash of the
// machine would have ended the container a moment later for anyway; a
// killed monitor or daemon loses nothing (the file is in the page cache).
func writeExit(dir string, exit Exit) error {
	b, err := json.Marshal(exit)
	if err != nil {
		return err
	}
	return writeFileAtomic(dir, exitFile, b)
}

// syncExit makes the exit record writeExit wrote durable: the file, then
// the directory that names it.
func syncExit(dir string) error {
	for _, name := range []string{filepath.Join(dir, exitFile), dir} {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("sync %s: %w", name, err)
		}
	}
	return nil
}

// writePid stores pid in dir/name (see writeFileAtomic).
func writePid(dir, name string, pid int) error {
	return writeFileAtomic(dir, name, []byte(strconv.Itoa(pid)+"\n"))
}

// writeFileAtomic replaces dir/name with data so that a reader sees the old
// file or the new one, never a part: it writes a temporary file and renames
// it over name. It syncs nothing: the files that describe processes (the
// monitor's config, the pid files) mean nothing after the machine went
// down, when their processes are gone, and a daemon or monitor that dies
// loses none of them (they are in the page cache); skipping the two fsyncs
// saves about a millisecond per file on the start path. The exit record,
// the one file made durable, is synced later (syncExit).
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
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, name))
}

// readPid reads a pid file that writePid wrote.
func readPid(dir, name string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("bad pid file %s: %q", filepath.Join(dir, name), b)
	}
	return pid, nil
}
