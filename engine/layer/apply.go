package layer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// Linux device number limits (12-bit major, 20-bit minor).
const (
	maxDevMajor = 1<<12 - 1
	maxDevMinor = 1<<20 - 1
	// maxID is the largest valid uid or gid; 1<<32-1 means "unchanged" to chown.
	maxID = 1<<32 - 2
)

// Apply unpacks the uncompressed layer tar read from r into dir (an existing,
// normally empty directory) and returns the number of bytes of regular-file
// content it wrote. OCI whiteouts become overlayfs whiteouts. It never writes
// outside dir. It reads r only up to the end of the tar archive (the caller
// drains the rest).
//
// Bad input fails with an error wrapping errdefs.ErrInvalidArgument that names
// the entry. On any error dir is left partly written; the caller removes it.
func Apply(ctx context.Context, dir string, r io.Reader) (int64, error) {
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, &os.PathError{Op: "open layer dir", Path: dir, Err: err}
	}
	return apply(ctx, root, r, ApplyOptions{})
}

// ApplyOptions adapt ApplyAt to tar archives that are not image layers: a
// build context, or an archive that ADD unpacks into an image.
type ApplyOptions struct {
	// Plain unpacks .wh.* entries as the ordinary files they are in such
	// archives, instead of turning them into overlayfs whiteouts; errors
	// name entries "archive entry" instead of "layer entry".
	Plain bool
	// NoDevices refuses character and block device entries.
	NoDevices bool
	// InRoot follows the symlinks met in an entry's parent directories as if
	// the directory unpacked into were "/", as tar run in a chroot there
	// would (which is how Docker unpacks ADD's archives: a Debian image's
	// /lib -> usr/lib takes an archive's lib/x). Without it, writing through
	// any symlink is refused. Either way nothing is written outside the
	// directory and an entry's own name is never followed: an existing
	// symlink there is replaced.
	InRoot bool
}

// ApplyAt is Apply into the open directory dir, with opts. dir stays open.
func ApplyAt(ctx context.Context, dir *os.File, r io.Reader, opts ApplyOptions) (int64, error) {
	root, err := unix.FcntlInt(dir.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return 0, &os.PathError{Op: "dup", Path: dir.Name(), Err: err}
	}
	return apply(ctx, root, r, opts)
}

// apply unpacks r into the directory root, which it closes.
func apply(ctx context.Context, root int, r io.Reader, opts ApplyOptions) (int64, error) {
	a := &applier{
		ctx:      ctx,
		root:     root,
		opts:     opts,
		noun:     "layer",
		parent:   openDir{fd: -1},
		dirTimes: make(map[string][]unix.Timespec),
		buf:      make([]byte, 1<<20),
	}
	if opts.Plain {
		a.noun = "archive"
	}
	defer a.close()
	if err := a.applyAll(tar.NewReader(r)); err != nil {
		return 0, err
	}
	return a.size, nil
}

// applier holds the state of one Apply call.
type applier struct {
	ctx  context.Context
	root int // the layer directory
	opts ApplyOptions
	// noun names what is unpacked in errors: "layer" or "archive".
	noun string
	// parent caches the last parent directory opened: most entries share one.
	parent openDir
	// dirTimes holds directory times to set at the end, since creating
	// children changes a directory's mtime.
	dirTimes map[string][]unix.Timespec
	buf      []byte
	size     int64
}

type openDir struct {
	name string
	fd   int
}

func (a *applier) close() {
	a.dropParent()
	unix.Close(a.root)
}

func (a *applier) dropParent() {
	if a.parent.fd >= 0 {
		unix.Close(a.parent.fd)
	}
	a.parent = openDir{fd: -1}
}

func (a *applier) applyAll(tr *tar.Reader) error {
	for {
		if err := a.ctx.Err(); err != nil {
			return fmt.Errorf("apply layer: %w", err)
		}
		hdr, err := tr.Next()
		if errors.Is(err, tar.ErrInsecurePath) {
			err = nil // only with GODEBUG=tarinsecurepath=0; applyEntry checks names itself, more strictly
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return a.readError(err)
		}
		if err := a.applyEntry(hdr, tr); err != nil {
			return fmt.Errorf("%s entry %q: %w", a.noun, hdr.Name, err)
		}
	}
	return a.setDirTimes()
}

// readError describes a failure to read the archive, classifying a truncated
// or malformed tar as bad input rather than an I/O failure of r.
func (a *applier) readError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, tar.ErrHeader) {
		return fmt.Errorf("read %s tar: %w: %w", a.noun, invalid("truncated or corrupt archive"), err)
	}
	return fmt.Errorf("read %s tar: %w", a.noun, err)
}

func (a *applier) applyEntry(hdr *tar.Header, content io.Reader) error {
	name, err := cleanName(hdr.Name, a.noun)
	if err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // describes the archive, not a file
	}
	base := path.Base(name)
	if !a.opts.Plain {
		if isAUFSMetadata(name) {
			return nil
		}
		if strings.HasPrefix(base, whiteoutPrefix) {
			return a.applyWhiteout(hdr, path.Dir(name), base)
		}
	}
	if err := a.validateHeader(hdr); err != nil {
		return err
	}
	if name == "." {
		return a.applyRoot(hdr)
	}
	parent, err := a.parentDir(path.Dir(name))
	if err != nil {
		return err
	}
	e := entry{parent: parent, name: name, base: base, hdr: hdr}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return a.makeDir(e)
	case tar.TypeLink:
		// A hard link shares its target's inode, whose metadata came with
		// the target's own entry.
		return a.makeHardlink(e)
	case tar.TypeReg, tar.TypeGNUSparse:
		err = a.writeFile(e, content)
	case tar.TypeSymlink:
		if err = a.create(e, func() error { return unix.Symlinkat(hdr.Linkname, parent, base) }); err != nil {
			err = fmt.Errorf("symlink: %w", err)
		}
	default: // devices and fifos, as validateHeader allows
		if err = a.create(e, func() error { return unix.Mknodat(parent, base, nodeMode(hdr), nodeDev(hdr)) }); err != nil {
			err = fmt.Errorf("mknod: %w", err)
		}
	}
	if err != nil {
		return err
	}
	return e.setMetadata()
}

// validateHeader rejects entries Apply cannot create faithfully, or must not
// create, before anything is written for them.
func (a *applier) validateHeader(hdr *tar.Header) error {
	switch hdr.Typeflag {
	case tar.TypeChar, tar.TypeBlock:
		if a.opts.NoDevices {
			return invalid("device nodes are not allowed")
		}
		if hdr.Devmajor < 0 || hdr.Devmajor > maxDevMajor || hdr.Devminor < 0 || hdr.Devminor > maxDevMinor {
			return invalid("device number %d:%d out of range", hdr.Devmajor, hdr.Devminor)
		}
	case tar.TypeReg, tar.TypeGNUSparse, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo:
	default:
		return invalid("unsupported tar entry type %q", hdr.Typeflag)
	}
	if hdr.Uid < 0 || hdr.Uid > maxID || hdr.Gid < 0 || hdr.Gid > maxID {
		return invalid("owner %d:%d out of range", hdr.Uid, hdr.Gid)
	}
	return nil
}

// applyRoot handles an entry naming the layer root, such as the "./" many
// tars start with. Like Docker and containerd, Apply leaves the root's
// metadata alone: the store decides it.
func (a *applier) applyRoot(hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeDir {
		return invalid("entry would replace the %s root", a.noun)
	}
	return nil
}

// entry is a tar entry about to be created as base in the directory parent.
type entry struct {
	parent int
	name   string // clean, relative to the layer root
	base   string
	hdr    *tar.Header
}

// create runs mk, which makes e, replacing whatever a previous entry of the
// same name left there.
func (a *applier) create(e entry, mk func() error) error {
	err := mk()
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	if err := a.remove(e.parent, e.name, e.base); err != nil {
		return fmt.Errorf("replace existing entry: %w", err)
	}
	return mk()
}

// remove deletes name (base in parent) and forgets any state kept about it.
func (a *applier) remove(parent int, name, base string) error {
	if isDirAt(parent, base) {
		// The cached parent may be this directory or lie inside it.
		a.dropParent()
		for dir := range a.dirTimes {
			if dir == name || strings.HasPrefix(dir, name+"/") {
				delete(a.dirTimes, dir)
			}
		}
	}
	return RemoveAt(parent, base)
}

// makeDir creates a directory entry. A directory entry over an existing
// directory keeps its contents and updates its metadata.
func (a *applier) makeDir(e entry) error {
	var err error
	if !isDirAt(e.parent, e.base) {
		err = a.create(e, func() error { return unix.Mkdirat(e.parent, e.base, 0o700) })
	}
	if err != nil {
		return fmt.Errorf("mkdir: %w", err)
	}
	if err := e.setMetadata(); err != nil {
		return err
	}
	ts, err := entryTimes(e.hdr)
	if err != nil {
		return err
	}
	a.dirTimes[e.name] = ts
	return nil
}

func (a *applier) makeHardlink(e entry) error {
	target, err := cleanLinkTarget(e.hdr.Linkname, a.noun)
	if err != nil {
		return err
	}
	if target == e.name {
		return invalid("hard link to itself")
	}
	targetDir, err := a.openDir(path.Dir(target), false)
	if err == nil {
		defer a.closeDir(targetDir)
		// Without AT_SYMLINK_FOLLOW a symlink target is linked as the
		// symlink itself, never as whatever it points to.
		err = a.create(e, func() error { return unix.Linkat(targetDir, path.Base(target), e.parent, e.base, 0) })
	}
	if errors.Is(err, unix.ENOENT) {
		return invalid("link target %q does not exist in the %s", e.hdr.Linkname, a.noun)
	}
	if err != nil {
		return fmt.Errorf("link to %q: %w", e.hdr.Linkname, err)
	}
	return nil
}

func (a *applier) writeFile(e entry, content io.Reader) error {
	var fd int
	err := a.create(e, func() (err error) {
		fd, err = unix.Openat(e.parent, e.base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		return err
	})
	if err != nil {
		return &os.PathError{Op: "create", Path: e.name, Err: err}
	}
	f := os.NewFile(uintptr(fd), e.name)
	n, err := a.copyContent(f, content)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	a.size += n
	return err
}

// copyContent copies an entry's content through the applier's buffer. It
// checks ctx between chunks: one entry may be gigabytes long.
func (a *applier) copyContent(f *os.File, content io.Reader) (int64, error) {
	var written int64
	for {
		if err := a.ctx.Err(); err != nil {
			return written, err
		}
		n, readErr := content.Read(a.buf)
		if n > 0 {
			if _, err := f.Write(a.buf[:n]); err != nil {
				return written, err
			}
			written += int64(n)
		}
		if readErr == io.EOF {
			return written, nil
		}
		if readErr != nil {
			return written, a.readError(readErr)
		}
	}
}

func nodeMode(hdr *tar.Header) uint32 {
	switch hdr.Typeflag {
	case tar.TypeChar:
		return unix.S_IFCHR
	case tar.TypeBlock:
		return unix.S_IFBLK
	}
	return unix.S_IFIFO
}

func nodeDev(hdr *tar.Header) int {
	if hdr.Typeflag == tar.TypeFifo {
		return 0
	}
	return int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
}

// setMetadata applies owner, xattrs, mode and times from the tar header,
// except directory times, which makeDir defers until all children exist.
func (e entry) setMetadata() error {
	hdr := e.hdr
	if err := unix.Fchownat(e.parent, e.base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	// After chown, which clears security.capability.
	if err := setXattrsAt(e.parent, e.base, hdr.PAXRecords); err != nil {
		return err
	}
	// After chown, which clears setuid and setgid. Symlinks have no mode of
	// their own, and fchmodat would follow them.
	if hdr.Typeflag != tar.TypeSymlink {
		if err := unix.Fchmodat(e.parent, e.base, uint32(hdr.Mode)&0o7777, 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	if hdr.Typeflag == tar.TypeDir {
		return nil
	}
	ts, err := entryTimes(hdr)
	if err != nil {
		return err
	}
	if err := unix.UtimesNanoAt(e.parent, e.base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}
