package layer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Diff writes the changes held in an overlayfs upper directory as an OCI
// layer tar, the inverse of Apply: files, directories, links and devices as
// they are; an overlay whiteout (a 0/0 character device) as a ".wh.<name>"
// entry; an opaque directory (trusted.overlay.opaque=y) as the directory
// followed by ".wh..wh..opq". Entries come in lexical order, so a directory
// precedes its contents; trusted.* extended attributes are never written.
func Diff(ctx context.Context, upper string, w io.Writer) error {
	return archive(ctx, upper, w, true, nil)
}

// DiffExcept is Diff without the entries skip names (paths relative to
// upper, such as "etc/hostname"; a directory's own entry only, not what it
// holds).
func DiffExcept(ctx context.Context, upper string, w io.Writer, skip map[string]bool) error {
	return archive(ctx, upper, w, true, skip)
}

// Archive writes the directory tree dir as a tar (docker export of a merged
// root filesystem): no whiteout translation.
func Archive(ctx context.Context, dir string, w io.Writer) error {
	return archive(ctx, dir, w, false, nil)
}

func archive(ctx context.Context, root string, w io.Writer, whiteouts bool, skip map[string]bool) error {
	tw := tar.NewWriter(w)
	links := map[uint64]string{} // inode → first name, for hard links
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." || skip[filepath.ToSlash(rel)] {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if whiteouts && isWhiteout(fi) {
			dir, base := filepath.Split(rel)
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + whiteoutPrefix + base, Mode: 0o600, Format: tar.FormatPAX})
		}
		if err := writeEntry(tw, path, rel, fi, links); err != nil {
			return fmt.Errorf("archive %s: %w", rel, err)
		}
		if whiteouts && fi.IsDir() && isOpaque(path) {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel + "/" + whiteoutOpaque, Mode: 0o600, Format: tar.FormatPAX})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func isWhiteout(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0
}

func isOpaque(dir string) bool {
	buf := make([]byte, 1)
	n, err := unix.Lgetxattr(dir, "trusted.overlay.opaque", buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

// writeEntry writes one file's header (and content).
func writeEntry(tw *tar.Writer, path, rel string, fi fs.FileInfo, links map[uint64]string) error {
	var target string
	if fi.Mode()&fs.ModeSymlink != 0 {
		var err error
		if target, err = os.Readlink(path); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, target)
	if err != nil {
		return err
	}
	hdr.Name = filepath.ToSlash(rel)
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Format = tar.FormatPAX
	hdr.Uname, hdr.Gname = "", ""
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		if fi.Mode().IsRegular() && st.Nlink > 1 {
			if first, seen := links[st.Ino]; seen {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				links[st.Ino] = hdr.Name
			}
		}
	}
	if xattrs := readXattrs(path); len(xattrs) > 0 {
		hdr.PAXRecords = map[string]string{}
		for k, v := range xattrs {
			hdr.PAXRecords["SCHILY.xattr."+k] = v
		}
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// readXattrs returns a file's extended attributes except trusted.* (the
// overlay's own metadata, never part of a layer).
func readXattrs(path string) map[string]string {
	size, err := unix.Llistxattr(path, nil)
	if err != nil || size == 0 {
		return nil
	}
	buf := make([]byte, size)
	n, err := unix.Llistxattr(path, buf)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if name == "" || strings.HasPrefix(name, "trusted.") {
			continue
		}
		vsize, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			continue
		}
		v := make([]byte, vsize)
		if vn, err := unix.Lgetxattr(path, name, v); err == nil {
			out[name] = string(v[:vn])
		}
	}
	return out
}

// Change is one entry of docker diff.
type Change struct {
	Path string
	Kind ChangeKind
}

// ChangeKind is docker diff's C, A or D.
type ChangeKind int

// The kinds, with Docker's numbers.
const (
	Modified ChangeKind = 0
	Added    ChangeKind = 1
	Deleted  ChangeKind = 2
)

func (k ChangeKind) String() string { return [...]string{"C", "A", "D"}[k] }

// Changes lists what an upper directory changes over its lower directories
// (top first): a path the lowers lack is added, one they have is modified, a
// whiteout is a deletion.
func Changes(upper string, lowers []string) ([]Change, error) {
	var out []Change
	err := filepath.WalkDir(upper, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, path)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		name := "/" + filepath.ToSlash(rel)
		switch {
		case isWhiteout(fi):
			out = append(out, Change{Path: name, Kind: Deleted})
		case inLowers(rel, lowers):
			out = append(out, Change{Path: name, Kind: Modified})
		default:
			out = append(out, Change{Path: name, Kind: Added})
		}
		return nil
	})
	return out, err
}

func inLowers(rel string, lowers []string) bool {
	for _, l := range lowers {
		if _, err := os.Lstat(filepath.Join(l, rel)); err == nil {
			return true
		} else if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.ENOTDIR) {
			return true
		}
	}
	return false
}
