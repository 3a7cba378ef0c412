package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// sealedExe is the copy of the running binary that role processes are
// executed from, made once per process.
//
// CVE-2019-5736: a process inside the container can reach the binary a
// role runs from through /proc/<pid>/exe (for instance by making the
// container's /bin/sh "#!/proc/self/exe" and waiting for an exec). Were that
// the host's skiff, it could open it for writing once the role has exec'd
// and replace the engine's binary. So roles never run from the host's file:
//
//  1. a read-only overlayfs view of it (runc's default since 1.2): a
//     detached mount, attached to no mount tree, whose top layer is the
//     binary's directory and whose bottom layer is an empty detached tmpfs
//     (overlayfs needs two layers when it has no upper one). Writes
//     through it fail with EROFS and it cannot be unwrapped. It costs about
//     0.3 ms and no memory;
//  2. if that is impossible (the binary was deleted or replaced since it
//     started, or Linux < 6.13 takes no overlayfs layer as a descriptor),
//     a memfd copy sealed against any change (F_SEAL_SEAL|SHRINK|GROW|
//     WRITE). Copying skiff's 29 MB binary costs 13–25 ms and as much
//     memory, charged to the caller's cgroup for as long as it runs.
//
// The result is kept for the life of the process: the monitor starts one
// container and then execs into it.
var sealedExe = sync.OnceValues(sealSelfExe)

// minExeFD is the lowest descriptor number the sealed binary is kept at.
// os.StartProcess dup2s the child's files onto 0…n-1 (and moves some to n
// and above) before execve opens "/proc/self/fd/N", so N must stay clear
// of those.
const minExeFD = 64

func sealSelfExe() (*os.File, error) {
	f, oerr := overlayExe()
	if oerr != nil {
		var merr error
		if f, merr = memfdExe(); merr != nil {
			return nil, fmt.Errorf("seal /proc/self/exe: overlayfs view: %w; memfd copy: %w", oerr, merr)
		}
	}
	return aboveFD(f, minExeFD)
}

// exePath is the path that executes f.
func exePath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// overlayExe opens the running binary through a private, read-only,
// detached overlayfs mount (option 1 of sealedExe).
func overlayExe() (*os.File, error) {
	path, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(path, " (deleted)") {
		return nil, fmt.Errorf("%s was deleted", path)
	}
	dir, name := filepath.Split(path)

	ctx, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(ctx)
	if err := unix.FsconfigSetString(ctx, "lowerdir+", dir); err != nil {
		return nil, fmt.Errorf("overlay lowerdir+=%s: %w", dir, err)
	}
	// The empty layer is a detached mount: it exists only while a
	// descriptor refers to it, so it stays open until the overlay exists.
	empty, err := emptyTmpfs()
	if err != nil {
		return nil, err
	}
	defer unix.Close(empty)
	if err := unix.FsconfigSetFd(ctx, "lowerdir+", empty); err != nil {
		return nil, fmt.Errorf("overlay lowerdir+=<empty tmpfs fd>: %w", err)
	}
	// xino is irrelevant here; turning it off avoids kernel log noise when
	// the layers are on different filesystems.
	_ = unix.FsconfigSetString(ctx, "xino", "off")
	if err := unix.FsconfigCreate(ctx); err != nil {
		return nil, fmt.Errorf("create overlay of %s: %w", dir, err)
	}
	mnt, err := unix.Fsmount(ctx, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		return nil, fmt.Errorf("fsmount overlay of %s: %w", dir, err)
	}
	defer unix.Close(mnt)
	fd, err := unix.Openat2(mnt, name, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s in its overlay: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), "overlay:"+path)
	// The file at path may have been replaced since this process started
	// (an upgrade): a role must run the same code as its parent.
	if err := sameFile(f, "/proc/self/exe"); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// emptyTmpfs returns a detached, read-only, empty tmpfs mount.
func emptyTmpfs() (int, error) {
	ctx, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen tmpfs: %w", err)
	}
	defer unix.Close(ctx)
	if err := unix.FsconfigCreate(ctx); err != nil {
		return -1, fmt.Errorf("create tmpfs: %w", err)
	}
	fd, err := unix.Fsmount(ctx, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY)
	if err != nil {
		return -1, fmt.Errorf("fsmount tmpfs: %w", err)
	}
	return fd, nil
}

// sameFile checks that f has the size and times of the file at path
// (overlayfs reports its own device and inode numbers, so those cannot be
// compared).
func sameFile(f *os.File, path string) error {
	var a, b unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &a); err != nil {
		return fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	if err := unix.Stat(path, &b); err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if a.Size != b.Size || a.Mtim != b.Mtim || a.Ctim != b.Ctim || a.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%s is not the running binary any more", f.Name())
	}
	return nil
}

// memfdExe copies the running binary into a sealed memfd (option 2 of
// sealedExe).
func memfdExe() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	defer src.Close()
	const flags = unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	// MFD_EXEC (Linux 6.3) keeps the memfd executable when the
	// vm.memfd_noexec sysctl would make it not; older kernels reject it.
	fd, err := unix.MemfdCreate("skiff-runtime", flags|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate("skiff-runtime", flags)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "memfd:skiff-runtime")
	defer mem.Close()
	if _, err := io.Copy(mem, src); err != nil {
		return nil, fmt.Errorf("copy /proc/self/exe to a memfd: %w", err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return nil, fmt.Errorf("seal memfd: %w", err)
	}
	// execve refuses a file that is open for writing (ETXTBSY): keep a
	// read-only descriptor and drop the writable one.
	ro, err := os.OpenFile(exePath(mem), os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("reopen sealed memfd: %w", err)
	}
	return ro, nil
}

// aboveFD moves f to a descriptor number of at least min.
func aboveFD(f *os.File, min int) (*os.File, error) {
	defer f.Close()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, min)
	if err != nil {
		return nil, fmt.Errorf("dup %s: %w", f.Name(), err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}
