package runtime

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// setupTerminal puts the process in a session of its own (runc does so
// for every container process: a signal from the caller's terminal must
// not reach it), and with Process.Terminal makes its stdin, the pty slave,
// the session's controlling terminal. In console mode the pty is first
// allocated in the container's /dev/pts and its master handed to the
// parent.
func (p *processSetup) setupTerminal() error {
	if p.process.Terminal && p.console {
		if err := p.allocateConsole(); err != nil {
			return err
		}
	}
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	if !p.process.Terminal {
		return nil
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("make stdin the controlling terminal (TIOCSCTTY): %w", err)
	}
	return nil
}

// allocateConsole opens a new pty in the container's devpts instance, sends
// its master to the parent and makes its slave the process's stdin, stdout
// and stderr (and, for a container's first process, /dev/console), sized
// as asked. The slave is opened from the master (TIOCGPTPEER), never by a
// path the container could replace.
func (p *processSetup) allocateConsole() error {
	master, err := unix.Open("/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/pts/ptmx: %w", err)
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlock pty: %w", err)
	}
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if e != 0 {
		return fmt.Errorf("open pty slave (TIOCGPTPEER): %w", e)
	}
	slave := int(r)
	defer unix.Close(slave)
	// Sized before anything runs on it: the parent gets the master only
	// once the process has started, too late for one that asks for its
	// size first thing (stty size, a shell's first prompt).
	if size := p.consoleSize; size[0] != 0 && size[1] != 0 {
		if err := unix.IoctlSetWinsize(master, unix.TIOCSWINSZ, &unix.Winsize{Row: size[0], Col: size[1]}); err != nil {
			return fmt.Errorf("set the pty's size: %w", err)
		}
	}
	// The process's user owns its terminal, as after a login.
	if err := unix.Fchown(slave, p.user.uid, -1); err != nil {
		return fmt.Errorf("chown pty slave: %w", err)
	}
	if p.bindConsole {
		if err := bindDevConsole(slave); err != nil {
			return err
		}
	}
	if err := p.conn.send(message{Type: msgConsole}, master); err != nil {
		return err
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("dup pty slave to fd %d: %w", fd, err)
		}
	}
	return nil
}

// bindDevConsole makes the container's /dev/console the pty slave, as runc
// does for a container with a terminal.
func bindDevConsole(slave int) error {
	fd, err := unix.Openat(unix.AT_FDCWD, "/dev/console", unix.O_CREAT|unix.O_EXCL|unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &os.PathError{Op: "create", Path: "/dev/console", Err: err}
	}
	defer unix.Close(fd)
	return bindOn(slave, "", fd, "/dev/console", false)
}
