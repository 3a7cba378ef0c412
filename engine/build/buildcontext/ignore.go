package buildcontext

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/skiff-dev/skiff/engine/build/copier"
	"github.com/skiff-dev/skiff/engine/layer"
	"golang.org/x/sys/unix"
)

const ignoreFile = ".dockerignore"

// applyDockerignore removes from the unpacked context, open as dir, what its
// .dockerignore excludes. The docker CLI filters before sending; this keeps
// other clients' uploads (the dashboard's) right. A directory that is
// excluded but holds a re-included ("!") path stays, with that path only.
func applyDockerignore(ctx context.Context, dir *os.File) error {
	root, err := copier.OpenContext(dir.Name())
	if err != nil {
		return err
	}
	data, err := root.ReadFile(ignoreFile, maxDockerfile)
	root.Close()
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", ignoreFile, err)
	}
	patterns, err := ignorefile.ReadAll(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("read %s: %w", ignoreFile, err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return invalidf("%s: %v", ignoreFile, err)
	}
	_, err = prune(ctx, pm, int(dir.Fd()), ".", patternmatcher.MatchInfo{})
	return err
}

// prune removes the excluded entries of the directory fd (name in the
// context) and reports whether it keeps any.
func prune(ctx context.Context, pm *patternmatcher.PatternMatcher, fd int, name string, parent patternmatcher.MatchInfo) (bool, error) {
	dirFd, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, &os.PathError{Op: "open", Path: name, Err: err}
	}
	dir := os.NewFile(uintptr(dirFd), name)
	defer dir.Close()
	entries, err := dir.ReadDir(-1)
	if err != nil {
		return false, &os.PathError{Op: "read directory", Path: name, Err: err}
	}
	kept := false
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		child := path.Join(name, e.Name())
		excluded, info, err := pm.MatchesUsingParentResults(child, parent)
		if err != nil {
			return false, invalidf("%s: %v", ignoreFile, err)
		}
		keep := !excluded
		// Without "!" patterns nothing below an excluded directory can
		// come back: remove it whole.
		if e.IsDir() && (!excluded || pm.Exclusions()) {
			childFd, err := unix.Openat(dirFd, e.Name(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return false, &os.PathError{Op: "open", Path: child, Err: err}
			}
			keptBelow, err := prune(ctx, pm, childFd, child, info)
			unix.Close(childFd)
			if err != nil {
				return false, err
			}
			keep = keep || keptBelow
		}
		if !keep {
			if err := layer.RemoveAt(dirFd, e.Name()); err != nil {
				return false, fmt.Errorf("remove %s excluded by %s: %w", child, ignoreFile, err)
			}
		}
		kept = kept || keep
	}
	return kept, nil
}
