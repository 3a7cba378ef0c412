package monitor

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// procIO is the stdio of one container process (the init or an exec): the
// child's ends, handed to the starter, and the monitor's ends.
//
//	TTY:     child 0,1,2 = a pty slave       monitor: the console (the master): output, stdin, resize
//	         (or none: the starter allocates the pty and hands over its master, see takeConsole)
//	no TTY:  child 1, 2  = pipe write ends   monitor: their read ends (stdout, stderr)
//	         child 0     = a pipe read end   monitor: its write end (OpenStdin)
//	                     = nil, /dev/null    (no OpenStdin)
type procIO struct {
	tty     bool
	child   stdio
	console *os.File     // the pty master, nil without a TTY
	stdin   *os.File     // where stdin goes: the console, a pipe, or nil
	outputs []outputFile // what the process writes, by stream
}

// outputFile is the monitor's read end of one output stream.
type outputFile struct {
	*os.File
	stream byte
}

// defaultConsoleSize is a TTY's size when none was asked for (rows, cols).
var defaultConsoleSize = [2]uint16{24, 80}

// newProcIO creates a process's stdio. With starterConsole, a TTY's pty is
// left to the starter.
func newProcIO(tty, openStdin bool, size [2]uint16, starterConsole bool) (_ *procIO, err error) {
	p := &procIO{tty: tty}
	defer func() {
		if err != nil {
			p.closeChild()
			p.close()
		}
	}()
	switch {
	case tty && starterConsole:
		return p, nil
	case tty:
		master, slave, err := openPty()
		if err != nil {
			return nil, err
		}
		p.child = stdio{slave, slave, slave}
		return p, p.setConsole(master, size)
	}
	for _, stream := range []byte{streamStdout, streamStderr} {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		p.outputs = append(p.outputs, outputFile{r, stream})
		if stream == streamStdout {
			p.child.stdout = w
		} else {
			p.child.stderr = w
		}
	}
	if openStdin {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		p.child.stdin, p.stdin = r, w
	}
	return p, nil
}

// consoleSize is size, or defaultConsoleSize when size has a zero.
func consoleSize(size [2]uint16) [2]uint16 {
	if size[0] == 0 || size[1] == 0 {
		return defaultConsoleSize
	}
	return size
}

// setConsole makes master the TTY's console and gives it its size (a
// console the runtime allocated has it already: setting the same size again
// changes nothing and signals no one).
func (p *procIO) setConsole(master *os.File, size [2]uint16) error {
	p.console, p.stdin = master, master
	p.outputs = []outputFile{{master, streamStdout}}
	size = consoleSize(size)
	return setConsoleSize(master, size[0], size[1])
}

// takeConsole takes the console the starter allocated for a TTY process,
// if it did.
func (p *procIO) takeConsole(proc process, size [2]uint16) error {
	if !p.tty || p.console != nil {
		return nil
	}
	master := proc.Console()
	if master == nil {
		return errors.New("the runtime allocated no console for a TTY process")
	}
	master, err := pollable(master)
	if err != nil {
		return fmt.Errorf("take the console: %w", err)
	}
	return p.setConsole(master, size)
}

// pollable returns f, which it closes, as a non-blocking file the Go
// runtime polls: closing it then ends a Read blocked on it, which drain
// relies on. (os.NewFile of a blocking descriptor gives a file whose Read
// blocks a thread until data comes, whatever Close does.)
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	var nfd int
	err := control(f, func(fd int) error {
		var err error
		if nfd, err = unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0); err != nil {
			return err
		}
		return unix.SetNonblock(nfd, true)
	})
	if err != nil {
		if nfd > 0 {
			unix.Close(nfd)
		}
		return nil, err
	}
	return os.NewFile(uintptr(nfd), f.Name()), nil
}

// closeChild closes the monitor's copies of the child's ends. Called once
// the process has started (or failed to), so that the output ends with EOF
// when the process (and whatever inherited its stdio) is gone.
func (p *procIO) closeChild() {
	for _, f := range []*os.File{p.child.stdin, p.child.stdout, p.child.stderr} {
		if f != nil {
			f.Close() // a TTY's slave three times: the later calls fail harmlessly
		}
	}
}

// close closes the monitor's ends.
func (p *procIO) close() {
	for _, o := range p.outputs {
		o.Close()
	}
	if p.stdin != nil {
		p.stdin.Close()
	}
}

// openPty opens a new pseudo-terminal. The master is pollable (its Read
// ends when it is closed); the slave is opened from it (TIOCGPTPEER), not by
// its /dev/pts path. Neither becomes the monitor's controlling terminal.
func openPty() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	var fd int
	err = control(master, func(m int) error {
		if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
			return fmt.Errorf("unlock pty: %w", err)
		}
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(m), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
		if errno != 0 {
			return fmt.Errorf("open pty slave: %w", errno)
		}
		fd = int(r)
		return nil
	})
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, os.NewFile(uintptr(fd), "pty-slave"), nil
}

// setConsoleSize sets a TTY's size; the kernel sends SIGWINCH to its
// foreground process group.
func setConsoleSize(console *os.File, rows, cols uint16) error {
	err := control(console, func(fd int) error {
		return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
	})
	if err != nil {
		return fmt.Errorf("resize tty: %w", err)
	}
	return nil
}

// control runs f on f's descriptor without making it blocking (as Fd
// would).
func control(file *os.File, f func(fd int) error) error {
	rc, err := file.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// pump reads r until it ends and hands each chunk to emit, which must not
// keep p. A pty master ends with EIO once every slave is closed; any file
// ends when the monitor closes it.
func pump(r io.Reader, stream byte, emit func(stream byte, p []byte)) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			emit(stream, buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// clientEnded tells whether err, from reading a client's connection, means
// the client ended its stdin (or went away), as opposed to the monitor
// ending the session.
func clientEnded(err error) bool {
	return err == nil || errors.Is(err, io.EOF) || errors.Is(err, unix.ECONNRESET)
}
