package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// readFile returns the content of a cgroup file, without the trailing
// newline. If the cgroup directory itself is gone, the error is
// errdefs.ErrNotFound.
func readFile(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", classify(dir, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// writeFile writes value to a cgroup file in one write(2), as cgroupfs
// wants. It opens the file as a shell's ">" does, but never creates it: a
// missing file is an error. If the cgroup directory itself is gone, the
// error is errdefs.ErrNotFound.
func writeFile(dir, name, value string) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return classify(dir, err)
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return classify(dir, err)
}

// writeLimit writes a limit; a value the kernel refuses is reported as an
// errdefs.ErrInvalidArgument naming the file and the value.
func writeLimit(dir, name, value string) error {
	err := writeFile(dir, name, value)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EBUSY) || errors.Is(err, unix.ERANGE) {
		return &refusedError{path: filepath.Join(dir, name), value: value, err: err}
	}
	return err
}

// refusedError is a limit the kernel would not take, such as a v1 memory
// limit below the current usage.
type refusedError struct {
	path, value string
	err         error
}

func (e *refusedError) Error() string {
	cause := e.err
	var pe *fs.PathError
	if errors.As(cause, &pe) {
		cause = pe.Err // the path is already in the message
	}
	return fmt.Sprintf("kernel refused %q for %s: %v", e.value, e.path, cause)
}

func (e *refusedError) Unwrap() error { return e.err }

// InvalidParameter makes the error an errdefs.ErrInvalidArgument.
func (*refusedError) InvalidParameter() {}

// classify marks err as errdefs.ErrNotFound when dir, the cgroup, no
// longer exists (as opposed to one file of it missing).
func classify(dir string, err error) error {
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", errdefs.ErrNotFound, err)
	}
	return err
}

// exists reports whether a cgroup file exists.
func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// readFields returns the whitespace-separated words of a file such as
// cgroup.controllers.
func readFields(dir, name string) ([]string, error) {
	s, err := readFile(dir, name)
	if err != nil {
		return nil, err
	}
	return strings.Fields(s), nil
}

// readUint reads a file holding one number, or "max" (v2) meaning no
// limit, returned as math.MaxUint64.
func readUint(dir, name string) (uint64, error) {
	s, err := readFile(dir, name)
	if err != nil {
		return 0, err
	}
	n, err := parseUint(s)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", filepath.Join(dir, name), err)
	}
	return n, nil
}

func parseUint(s string) (uint64, error) {
	if s == "max" {
		return math.MaxUint64, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// readKeyValues reads a flat keyed file of "key value" lines: memory.stat,
// cpu.stat, memory.events, cgroup.events, memory.oom_control, pids.events.
// Lines that do not hold a key and a number are skipped.
func readKeyValues(dir, name string) (map[string]uint64, error) {
	s, err := readFile(dir, name)
	if err != nil {
		return nil, err
	}
	return parseKeyValues(s), nil
}

func parseKeyValues(s string) map[string]uint64 {
	kv := make(map[string]uint64)
	for line := range strings.Lines(s) {
		key, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		if n, err := parseUint(strings.TrimSpace(value)); err == nil {
			kv[key] = n
		}
	}
	return kv
}

// readPids reads a cgroup.procs file.
func readPids(dir string) ([]int, error) {
	fields, err := readFields(dir, "cgroup.procs")
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(fields))
	for _, f := range fields {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, "cgroup.procs"), err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}
