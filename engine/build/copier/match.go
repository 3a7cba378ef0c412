package copier

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// NotFoundError is Match's error when a source names nothing. It matches
// errdefs.ErrNotFound and fs.ErrNotExist.
type NotFoundError struct {
	Path    string // the source, cleaned
	context bool
}

func (e *NotFoundError) Error() string {
	stat := "stat " + e.Path + ": file does not exist"
	if e.context {
		// The classic builder's wording; the caller prefixes "COPY failed: ".
		return "file not found in build context or excluded by .dockerignore: " + stat
	}
	return stat
}

// Is makes the error match errdefs.ErrNotFound and fs.ErrNotExist.
func (e *NotFoundError) Is(target error) bool {
	return target == fs.ErrNotExist || errdefs.IsNotFound(target)
}

// Match expands one COPY or ADD source to the paths it names in the tree,
// sorted. Wildcards (* ? [...], with \ escaping) match within one path
// element, as Docker's filepath.Match does; a source without any names
// itself. Leading "/" and "./" are dropped: sources are relative to the
// tree's root. Nothing matched is a *NotFoundError; the caller adds "COPY
// failed: " or "ADD failed: " as the classic builder does to all its errors.
func (r *Root) Match(src string) ([]string, error) {
	name := relative(src)
	if !hasWildcards(name) {
		fd, err := r.open(name, unix.O_PATH)
		if isNotExist(err) {
			return nil, r.notFound(name)
		}
		if err != nil {
			return nil, err
		}
		unix.Close(fd)
		return []string{name}, nil
	}
	// The elements before the first wildcard name one directory; the rest
	// are matched against directory listings.
	elems := strings.Split(name, "/")
	fixed := 0
	for !hasWildcards(elems[fixed]) {
		fixed++
	}
	base := "."
	if fixed > 0 {
		base = path.Join(elems[:fixed]...)
	}
	matches, err := r.matchIn(base, elems[fixed:])
	if isNotExist(err) {
		return nil, r.notFound(name)
	}
	if err != nil {
		return nil, err
	}
	if len(matches) == 0 {
		return nil, r.notFound(name)
	}
	slices.Sort(matches)
	return matches, nil
}

func (r *Root) notFound(name string) error {
	return &NotFoundError{Path: name, context: r.context}
}

// matchIn returns the paths below the directory dir that match patterns, one
// per path element. Like Docker's walk, it descends into directories only,
// not symlinks to them; the last element matches anything.
func (r *Root) matchIn(dir string, patterns []string) ([]string, error) {
	fd, err := r.open(dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), dir)
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return nil, &os.PathError{Op: "read directory", Path: dir, Err: err}
	}
	var matches []string
	for _, e := range entries {
		if ok, err := path.Match(patterns[0], e.Name()); err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage("bad pattern " + path.Join(dir, patterns[0]))
		} else if !ok {
			continue
		}
		name := path.Join(dir, e.Name())
		if len(patterns) == 1 {
			matches = append(matches, name)
			continue
		}
		if !e.IsDir() {
			continue
		}
		below, err := r.matchIn(name, patterns[1:])
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		matches = append(matches, below...)
	}
	return matches, nil
}

// hasWildcards reports whether name holds an unescaped wildcard, as the
// classic builder decides whether to match a source or take it as is.
func hasWildcards(name string) bool {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++
		case '*', '?', '[':
			return true
		}
	}
	return false
}
