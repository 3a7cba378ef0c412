package layer

import (
	"fmt"
	"path"
	"strings"

	"github.com/containerd/errdefs"
)

// Whiteout names from the OCI image spec (layer.md).
const (
	whiteoutPrefix     = ".wh."
	whiteoutMetaPrefix = ".wh..wh."
	whiteoutOpaque     = ".wh..wh..opq"
)

// invalid returns an error for bad layer content, classified so callers can
// tell it from an I/O failure.
func invalid(format string, args ...any) error {
	return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(format, args...))
}

// cleanName returns an entry name as a clean path relative to the root of
// what is unpacked (a "layer" or an "archive", which errors name) ("." for the
// root itself). Names that are absolute, contain NUL or climb out of the root
// are rejected rather than rewritten: an archive that has them is broken or
// hostile.
func cleanName(name, root string) (string, error) {
	if strings.ContainsRune(name, 0) {
		return "", invalid("name contains NUL")
	}
	if path.IsAbs(name) {
		return "", invalid("absolute path")
	}
	return cleanRelative(name, root)
}

// cleanLinkTarget returns a hard link target as a clean path relative to the
// root. Absolute targets such as "/bin/busybox" mean the file of that name in
// the layer, as in Docker.
func cleanLinkTarget(target, root string) (string, error) {
	if strings.ContainsRune(target, 0) {
		return "", invalid("link target contains NUL")
	}
	clean, err := cleanRelative(strings.TrimLeft(target, "/"), root)
	if err != nil {
		return "", invalid("link target %q: path escapes the %s", target, root)
	}
	if clean == "." {
		return "", invalid("link target %q is the %s root", target, root)
	}
	return clean, nil
}

func cleanRelative(name, root string) (string, error) {
	clean := path.Clean(name)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", invalid("path escapes the %s", root)
	}
	return clean, nil
}

// isAUFSMetadata reports whether name lies in one of the directories AUFS
// keeps at the layer root (.wh..wh.plnk, .wh..wh.orph). Docker skips them.
func isAUFSMetadata(name string) bool {
	return strings.HasPrefix(name, whiteoutMetaPrefix) && name != whiteoutOpaque
}

// whiteoutTarget returns the name a ".wh.<name>" entry hides, rejecting
// whiteouts of nothing, "." or "..", which would hide the directory itself or
// its parent.
func whiteoutTarget(base string) (string, error) {
	hidden := strings.TrimPrefix(base, whiteoutPrefix)
	if hidden == "" || hidden == "." || hidden == ".." {
		return "", invalid("invalid whiteout %q", base)
	}
	return hidden, nil
}
