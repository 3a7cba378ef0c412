package layer

import (
	"archive/tar"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// overlayOpaque is the xattr with which overlayfs hides everything lower
// layers have in a directory.
const overlayOpaque = "trusted.overlay.opaque"

// applyWhiteout turns an OCI whiteout entry (base in the directory dir) into
// its overlayfs form.
func (a *applier) applyWhiteout(hdr *tar.Header, dir, base string) error {
	switch {
	case base == whiteoutOpaque:
		return a.makeOpaque(dir)
	case strings.HasPrefix(base, whiteoutMetaPrefix):
		return nil // other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): Docker ignores it too
	}
	hidden, err := whiteoutTarget(base)
	if err != nil {
		return err
	}
	parent, err := a.parentDir(dir)
	if err != nil {
		return err
	}
	// overlayfs hides a lower file under a 0/0 character device of the same
	// name. It replaces anything this layer itself put there.
	e := entry{parent: parent, name: path.Join(dir, hidden), base: hidden, hdr: hdr}
	err = a.create(e, func() error { return unix.Mknodat(parent, hidden, unix.S_IFCHR, 0) })
	if err != nil {
		return fmt.Errorf("create whiteout: %w", err)
	}
	return nil
}

// makeOpaque marks the directory dir (created if missing) opaque.
func (a *applier) makeOpaque(dir string) error {
	fd, err := a.parentDir(dir)
	if err != nil {
		return err
	}
	if err := unix.Fsetxattr(fd, overlayOpaque, []byte("y"), 0); err != nil {
		return fmt.Errorf("mark directory opaque: %w", err)
	}
	return nil
}
