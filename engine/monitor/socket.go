package monitor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// A unix socket's path must fit in sun_path (108 bytes), and
// <data-root>/containers/<64 hex>/monitor.sock often does not. Both sides
// therefore reach the state directory through an O_PATH descriptor of it:
// /proc/self/fd/<n>/monitor.sock is short whatever the directory's path.

// inDir calls f with a short path naming dir, valid during the call.
func inDir(dir string, f func(short string) error) error {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	return f("/proc/self/fd/" + strconv.Itoa(fd))
}

// listen creates the monitor's socket in dir, mode 0600, replacing the
// file a killed monitor left (Start has checked that none answers there).
// Closing the listener leaves the file; the monitor removes it when it
// exits.
func listen(dir string) (*net.UnixListener, error) {
	var l *net.UnixListener
	err := inDir(dir, func(short string) error {
		if err := os.Remove(short + "/" + socketFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		// The socket's mode comes from the umask; nothing else creates
		// files while the monitor sets up, so narrowing it here is safe.
		old := unix.Umask(0o177)
		defer unix.Umask(old)
		var err error
		l, err = net.ListenUnix("unix", &net.UnixAddr{Name: short + "/" + socketFile, Net: "unix"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen on %s/%s: %w", dir, socketFile, err)
	}
	l.SetUnlinkOnClose(false) // the /proc/self/fd path would no longer name it
	return l, nil
}

// dial connects to the monitor in dir. It returns errdefs.ErrNotFound when
// no monitor listens there.
func dial(ctx context.Context, dir string) (*net.UnixConn, error) {
	var c net.Conn
	err := inDir(dir, func(short string) error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, "unix", short+"/"+socketFile)
		return err
	})
	switch {
	case err == nil:
		return c.(*net.UnixConn), nil
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOTDIR):
		return nil, errNoMonitor(dir)
	default:
		return nil, fmt.Errorf("connect to the monitor in %s: %w", dir, err)
	}
}

func errNoMonitor(dir string) error {
	return errdefs.ErrNotFound.WithMessage("no monitor is running in " + dir)
}
