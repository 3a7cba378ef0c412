package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// The init builds the container's filesystem in its own mount namespace,
// where the host's mounts were copied at clone time: nothing it mounts is
// visible on the host, and everything goes away with the namespace.
//
// Mount points inside the rootfs are opened in-root (see inroot.go) and
// mounted on through their descriptor: mount(2) on /proc/self/fd/N for a
// new filesystem, open_tree + move_mount for a bind.

// makeMountsPrivate stops mount events from propagating between the
// container's mount namespace and the host's, both ways.
func (c *containerInit) makeMountsPrivate() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return &os.PathError{Op: "make mounts private", Path: "/", Err: err}
	}
	return nil
}

// mountRootfs mounts the overlay of the image's layers under the
// container's upper directory on Root.Target: with fsconfig, one lower
// layer at a time (lowerdir+, Linux 6.8), so neither the number of layers
// nor a ':' or ',' in their paths is limited by mount(2)'s one-page option
// string. Without layers the upper directory is bind-mounted.
func (c *containerInit) mountRootfs() error {
	r := c.spec.Root
	var mnt int
	var err error
	if len(r.LowerDirs) == 0 {
		mnt, err = unix.OpenTree(unix.AT_FDCWD, r.UpperDir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			return &os.PathError{Op: "bind rootfs", Path: r.UpperDir, Err: err}
		}
	} else if mnt, err = overlay(r); err != nil {
		return err
	}
	if err := unix.MoveMount(mnt, "", unix.AT_FDCWD, r.Target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		unix.Close(mnt)
		return &os.PathError{Op: "mount rootfs", Path: r.Target, Err: err}
	}
	c.root = mnt
	return nil
}

// overlay creates the rootfs overlay as a detached mount.
func overlay(r Rootfs) (int, error) {
	ctx, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(ctx)
	set := func(key, value string) error {
		if err := unix.FsconfigSetString(ctx, key, value); err != nil {
			return fmt.Errorf("overlay %s=%s: %w", key, value, err)
		}
		return nil
	}
	for _, dir := range r.LowerDirs {
		if err := set("lowerdir+", dir); err != nil {
			return -1, err
		}
	}
	if err := set("upperdir", r.UpperDir); err != nil {
		return -1, err
	}
	if err := set("workdir", r.WorkDir); err != nil {
		return -1, err
	}
	if err := unix.FsconfigCreate(ctx); err != nil {
		// overlayfs explains in the kernel log (dmesg), not here.
		return -1, fmt.Errorf("create overlay on %s: %w", r.UpperDir, err)
	}
	mnt, err := unix.Fsmount(ctx, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("fsmount overlay: %w", err)
	}
	return mnt, nil
}

// mountProc mounts the container's procfs (of its PID namespace).
func (c *containerInit) mountProc() error {
	fd, err := c.mountpoint("/proc")
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return mountOn(fd, "/proc", "proc", "proc", unix.MS_NOSUID|unix.MS_NOEXEC|unix.MS_NODEV, "")
}

// mountSys mounts sysfs, read-only unless privileged. It shows the
// network namespace of the mounting thread.
func (c *containerInit) mountSys() error {
	fd, err := c.mountpoint("/sys")
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	flags := uintptr(unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV)
	if !c.spec.Security.Privileged {
		flags |= unix.MS_RDONLY
	}
	return mountOn(fd, "/sys", "sysfs", "sysfs", flags, "")
}

// mountpoint opens (creating it if missing) a top-level directory of the
// rootfs to mount a filesystem on. /proc, /sys and /dev must be real
// directories: a symlink there (CVE-2019-16884, CVE-2023-27561) is refused,
// not followed.
func (c *containerInit) mountpoint(name string) (int, error) {
	rel := strings.TrimPrefix(name, "/")
	const resolve = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS
	fd, err := openInRoot(c.root, rel, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, resolve)
	if errors.Is(err, unix.ENOENT) {
		if err := unix.Mkdirat(c.root, rel, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, &os.PathError{Op: "mkdir", Path: name, Err: err}
		}
		fd, err = openInRoot(c.root, rel, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, resolve)
	}
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return -1, invalid("%s must be a directory in the image, not a symlink or a file", name)
	}
	return fd, err
}

// mountOn mounts a new filesystem on the directory fd (name is for
// messages).
func mountOn(fd int, name, source, fstype string, flags uintptr, data string) error {
	if err := unix.Mount(source, fdPath(fd), fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype, name, err)
	}
	return nil
}

// bindOn bind-mounts the tree at source (a path, or the file dirfd itself
// when source is "") on the mount point fd, read-only if asked. The copy
// is made read-only before it is attached, so it is never writable in the
// container, and the mount keeps its other flags (nosuid, nodev...).
func bindOn(dirfd int, source string, fd int, name string, readOnly bool) error {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_RECURSIVE)
	if source == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	tree, err := unix.OpenTree(dirfd, source, flags)
	if err != nil {
		return fmt.Errorf("bind %s on %s: %w", source, name, err)
	}
	defer unix.Close(tree)
	if readOnly {
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr); err != nil {
			return fmt.Errorf("make bind of %s read-only: %w", source, err)
		}
	}
	if err := unix.MoveMount(tree, "", fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("bind %s on %s: %w", source, name, err)
	}
	return nil
}

// device is a device node of the container's /dev.
type device struct {
	name         string
	major, minor uint32
}

// mountDev gives the container a /dev of its own, as runc builds it for
// Docker: a tmpfs with the OCI default devices (Linux's fixed numbers:
// null 1:3, zero 1:5, full 1:7, random 1:8, urandom 1:9, tty 5:0), a
// private devpts instance, /dev/shm, /dev/mqueue and the fd symlinks. A
// privileged container also gets every device node of the host's /dev.
func (c *containerInit) mountDev() error {
	fd, err := c.mountpoint("/dev")
	if err != nil {
		return err
	}
	err = mountOn(fd, "/dev", "tmpfs", "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k")
	unix.Close(fd)
	if err != nil {
		return err
	}
	// The tmpfs just mounted, through the mount point.
	dev, err := c.mountpoint("/dev")
	if err != nil {
		return err
	}
	defer unix.Close(dev)
	for _, d := range []device{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}} {
		if err := unix.Mknodat(dev, d.name, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return &os.PathError{Op: "mknod", Path: "/dev/" + d.name, Err: err}
		}
	}
	submounts := []struct {
		name, fstype string
		flags        uintptr
		data         string
	}{
		{"pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"},
		{"shm", "tmpfs", unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV, "mode=1777,size=65536k"},
		{"mqueue", "mqueue", unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV, ""},
	}
	for _, m := range submounts {
		if err := mountInDev(dev, m.name, m.fstype, m.flags, m.data); err != nil {
			return err
		}
	}
	links := [][2]string{
		{"pts/ptmx", "ptmx"},
		{"/proc/self/fd", "fd"},
		{"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"},
	}
	for _, l := range links {
		if err := unix.Symlinkat(l[0], dev, l[1]); err != nil {
			return &os.PathError{Op: "symlink", Path: "/dev/" + l[1], Err: err}
		}
	}
	if c.spec.Security.Privileged {
		return copyHostDevices(dev)
	}
	return nil
}

// mountInDev mounts a filesystem on a new directory of the container's
// /dev tmpfs (dev).
func mountInDev(dev int, name, fstype string, flags uintptr, data string) error {
	if err := unix.Mkdirat(dev, name, 0o755); err != nil {
		return &os.PathError{Op: "mkdir", Path: "/dev/" + name, Err: err}
	}
	fd, err := unix.Openat(dev, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: "/dev/" + name, Err: err}
	}
	defer unix.Close(fd)
	return mountOn(fd, "/dev/"+name, fstype, fstype, flags, data)
}

// copyHostDevices recreates the host's device nodes in the container's /dev
// (dev), as Docker does for a privileged container; the host's own
// pseudo-filesystems (pts, shm, mqueue) and the console are skipped.
func copyHostDevices(dev int) error {
	return filepath.WalkDir("/dev", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable: skipped, as Docker does
		}
		rel := strings.TrimPrefix(path, "/dev/")
		switch {
		case path == "/dev":
			return nil
		case d.IsDir() && (rel == "pts" || rel == "shm" || rel == "mqueue" || strings.HasPrefix(rel, ".")):
			return fs.SkipDir
		case d.IsDir():
			if err := unix.Mkdirat(dev, rel, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				return &os.PathError{Op: "mkdir", Path: path, Err: err}
			}
			return nil
		case rel == "console" || d.Type()&(fs.ModeDevice|fs.ModeCharDevice) == 0:
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return nil
		}
		err = unix.Mknodat(dev, rel, st.Mode, int(st.Rdev))
		if errors.Is(err, unix.EEXIST) {
			return nil
		}
		if err != nil {
			return &os.PathError{Op: "mknod", Path: path, Err: err}
		}
		if err := unix.Fchownat(dev, rel, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "chown", Path: path, Err: err}
		}
		return nil
	})
}

// bindMounts places Spec.Mounts (hostname, hosts, resolv.conf, volumes).
// Each destination is resolved inside the rootfs and created to match its
// source (a directory, or an empty file). A destination resolving into
// /proc or /sys is refused: a volume there could hide the masks.
func (c *containerInit) bindMounts() error {
	for _, m := range c.spec.Mounts {
		if err := c.bindMount(m); err != nil {
			return err
		}
	}
	return nil
}

func (c *containerInit) bindMount(m Mount) error {
	fi, err := os.Stat(m.Source)
	if err != nil {
		return invalid("mount source: %v", err)
	}
	kind := kindFile
	if fi.IsDir() {
		kind = kindDir
	}
	fd, err := ensureInRoot(c.root, m.Destination, kind, nil)
	if err != nil {
		return fmt.Errorf("mount destination %s: %w", m.Destination, err)
	}
	defer unix.Close(fd)
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return &os.PathError{Op: "statfs", Path: m.Destination, Err: err}
	}
	if sfs.Type == unix.PROC_SUPER_MAGIC || sfs.Type == unix.SYSFS_MAGIC {
		return invalid("mount destination %s is in /proc or /sys", m.Destination)
	}
	return bindOn(unix.AT_FDCWD, m.Source, fd, m.Destination, m.ReadOnly)
}

// pivotRoot makes the rootfs the root of the mount namespace and drops the
// host's tree, with the pivot_root(".", ".") trick (from LXC, as in runc):
// the old root ends up mounted on top of the new one, where it is
// unmounted. Its mounts are made slaves first, so that the unmount cannot
// propagate anywhere.
func (c *containerInit) pivotRoot() error {
	target := c.spec.Root.Target
	if err := unix.Fchdir(c.root); err != nil {
		return &os.PathError{Op: "chdir", Path: target, Err: err}
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return &os.PathError{Op: "pivot_root", Path: target, Err: err}
	}
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return &os.PathError{Op: "make old root slave", Path: target, Err: err}
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return &os.PathError{Op: "unmount old root", Path: target, Err: err}
	}
	if err := unix.Chdir("/"); err != nil {
		return &os.PathError{Op: "chdir", Path: "/", Err: err}
	}
	unix.Close(c.root)
	c.root = -1
	return nil
}

// maskPaths hides Security.MaskedPaths, unless privileged: /dev/null is
// bind-mounted over a file, an empty read-only tmpfs over a directory. The
// /dev/null used must be the real one, char 1:3 (CVE-2025-31133): a mount
// over it would otherwise turn each mask into a bind of something else.
func (c *containerInit) maskPaths() error {
	sec := c.spec.Security
	if sec.Privileged || len(sec.MaskedPaths) == 0 {
		return nil
	}
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the container's root: %w", err)
	}
	defer unix.Close(root)
	null, err := openDevNull(root)
	if err != nil {
		return err
	}
	defer unix.Close(null)
	for _, p := range sec.MaskedPaths {
		if err := maskPath(root, null, p); err != nil {
			return err
		}
	}
	return nil
}

func maskPath(root, null int, name string) error {
	fd, err := openInRoot(root, name, unix.O_PATH, inRoot)
	if errors.Is(err, unix.ENOENT) {
		return nil // nothing to hide
	}
	if err != nil {
		return fmt.Errorf("mask %s: %w", name, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: name, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return mountOn(fd, name, "tmpfs", "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	}
	return bindOn(null, "", fd, name, false)
}

// openDevNull opens the container's /dev/null and checks it is the null
// device.
func openDevNull(root int) (int, error) {
	fd, err := openInRoot(root, "/dev/null", unix.O_PATH|unix.O_NOFOLLOW, inRoot)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, &os.PathError{Op: "stat", Path: "/dev/null", Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		unix.Close(fd)
		return -1, invalid("/dev/null is not the null device (char 1:3): cannot mask paths with it")
	}
	return fd, nil
}

// readonlyPaths remounts Security.ReadonlyPaths read-only, unless
// privileged.
func (c *containerInit) readonlyPaths() error {
	sec := c.spec.Security
	if sec.Privileged || len(sec.ReadonlyPaths) == 0 {
		return nil
	}
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the container's root: %w", err)
	}
	defer unix.Close(root)
	for _, p := range sec.ReadonlyPaths {
		fd, err := openInRoot(root, p, unix.O_PATH, inRoot)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read-only path %s: %w", p, err)
		}
		err = bindOn(fd, "", fd, p, true)
		unix.Close(fd)
		if err != nil {
			return err
		}
	}
	return nil
}
