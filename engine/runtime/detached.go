package runtime

import (
	"os"

	"golang.org/x/sys/unix"
)

// MountDetached mounts the overlay r describes (r.Target is ignored) as a
// detached mount, attached to no path in any mount namespace, and returns
// its root directory. Closing the file unmounts it. The builder writes
// COPY and ADD steps through it; with no lower directories the upper
// directory itself is the root.
func MountDetached(r Rootfs) (*os.File, error) {
	if len(r.LowerDirs) == 0 {
		fd, err := unix.Open(r.UpperDir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, &os.PathError{Op: "open rootfs", Path: r.UpperDir, Err: err}
		}
		return os.NewFile(uintptr(fd), r.UpperDir), nil
	}
	mnt, err := overlay(r)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(mnt), "overlay:"+r.UpperDir), nil
}
