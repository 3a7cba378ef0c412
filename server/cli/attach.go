package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// Interactive sessions: `skiff attach`, and the hijacked stream that run,
// start -a and exec share — raw terminal mode, detach keys, terminal
// resizing and signal forwarding, all as the docker CLI does them.

type attachOptions struct {
	container  string
	detachKeys string
	noStdin    bool
	sigProxy   bool
}

func newAttachCommand(cc *cliContext) *cobra.Command {
	var opts attachOptions
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.container = args[0]
			return runAttach(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	flags.BoolVar(&opts.noStdin, "no-stdin", false, "Do not attach STDIN")
	flags.BoolVar(&opts.sigProxy, "sig-proxy", true, "Proxy all received signals to the process")
	return cmd
}

// runAttach follows docker's order: wait (no condition), inspect (the
// container must be running), attach, inspect again, then resize to
// h+1,w+1 and back to force the shell to redraw. A detach ends with the
// error "read escape sequence" (exit status 1), as with docker.
func runAttach(ctx context.Context, cc *cliContext, opts attachOptions) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	waitCtx, cancelWait := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWait()
	wait := api.ContainerWait(waitCtx, opts.container, client.ContainerWaitOptions{})

	inspected, err := inspectRunning(ctx, api, opts.container)
	if err != nil {
		return err
	}
	stdinAttached := !opts.noStdin
	if err := cc.checkTTY(stdinAttached, inspected.Config.Tty); err != nil {
		return err
	}
	stdinAttached = stdinAttached && inspected.Config.OpenStdin

	if opts.sigProxy && !inspected.Config.Tty {
		stop := cc.proxySignals(ctx, api, opts.container)
		defer stop()
	}

	conn, err := api.ContainerAttach(ctx, opts.container, client.ContainerAttachOptions{
		Stream:     true,
		Stdin:      stdinAttached,
		Stdout:     true,
		Stderr:     true,
		DetachKeys: opts.detachKeys,
	})
	if err != nil {
		return err
	}
	defer conn.Close()

	// The container may have stopped between the first check and the
	// attach; without this check the attach would hang.
	if _, err := inspectRunning(ctx, api, opts.container); err != nil {
		return err
	}
	if inspected.Config.Tty && cc.stdoutIsTerminal {
		if h, w, ok := terminalSize(cc.stdout); ok {
			_, _ = api.ContainerResize(ctx, opts.container, client.ContainerResizeOptions{Height: h + 1, Width: w + 1})
		}
		stop := cc.monitorTTYSize(ctx, containerResizer(api, opts.container))
		defer stop()
	}

	session := streamSession{
		cc:         cc,
		conn:       conn.HijackedResponse,
		stdout:     cc.stdout,
		stderr:     cc.stderr,
		tty:        inspected.Config.Tty,
		detachKeys: opts.detachKeys,
	}
	if stdinAttached {
		session.stdin = cc.stdin
	}
	if err := session.run(ctx); err != nil {
		return err
	}
	return exitStatus(wait)
}

// inspectRunning inspects a container that must be running to attach to it.
func inspectRunning(ctx context.Context, api *client.Client, name string) (container.InspectResponse, error) {
	res, err := api.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return container.InspectResponse{}, err
	}
	c := res.Container
	if c.Config == nil {
		c.Config = &container.Config{}
	}
	if c.HostConfig == nil {
		c.HostConfig = &container.HostConfig{}
	}
	state := c.State
	if state == nil {
		state = &container.State{}
	}
	switch {
	case !state.Running:
		//lint:ignore ST1005 docker's wording
		return c, errors.New("You cannot attach to a stopped container, start it first")
	case state.Paused:
		//lint:ignore ST1005 docker's wording
		return c, errors.New("You cannot attach to a paused container, unpause it first")
	case state.Restarting:
		//lint:ignore ST1005 docker's wording
		return c, errors.New("You cannot attach to a restarting container, wait until it is running")
	}
	return c, nil
}

// exitStatus turns a container's wait result into the command's outcome:
// nil for 0, its status code otherwise.
func exitStatus(wait client.ContainerWaitResult) error {
	select {
	case result := <-wait.Result:
		if result.Error != nil {
			return errors.New(result.Error.Message)
		}
		if result.StatusCode != 0 {
			return statusError{code: int(result.StatusCode)}
		}
		return nil
	case err := <-wait.Error:
		return err
	}
}

// checkTTY refuses -it when stdin is not a terminal, as docker does.
func (cc *cliContext) checkTTY(attachStdin, tty bool) error {
	if tty && attachStdin && !cc.stdinIsTerminal {
		return errors.New("the input device is not a TTY")
	}
	return nil
}

// errDetached ends a session whose user typed the detach keys; its text
// is what `skiff attach` and `skiff exec` print, as docker's EscapeError.
var errDetached = errors.New("read escape sequence")

// defaultDetachKeys is ctrl-p, ctrl-q.
var defaultDetachKeys = []byte{16, 17}

// streamSession copies between the local streams and a hijacked attach or
// exec connection, as docker's hijackedIOStreamer: raw output for a TTY,
// stdcopy demultiplexing otherwise; stdin forwarded (through the detach
// key detector and with the terminal in raw mode for a TTY) and half-closed
// when it ends or is absent.
type streamSession struct {
	cc         *cliContext
	conn       client.HijackedResponse
	stdin      io.Reader // nil when stdin is not attached
	stdout     io.Writer
	stderr     io.Writer
	tty        bool
	detachKeys string
}

// run streams until the output ends, the user detaches (errDetached) or
// ctx ends. The local terminal is restored on every path.
func (s *streamSession) run(ctx context.Context) error {
	restore, err := s.setupInput()
	if err != nil {
		return err
	}
	defer restore()

	outputDone := make(chan error, 1)
	go func() {
		var err error
		if s.tty {
			_, err = io.Copy(s.stdout, s.conn.Reader)
			// Restore the terminal as soon as the output ends, so what
			// follows prints normally.
			restore()
		} else {
			_, err = stdcopy.StdCopy(s.stdout, s.stderr, s.conn.Reader)
		}
		outputDone <- err
	}()

	inputDone := make(chan struct{})
	detached := make(chan error, 1)
	go func() {
		if s.stdin != nil {
			_, err := io.Copy(s.conn.Conn, s.input())
			restore()
			if errors.Is(err, errDetached) {
				detached <- err
				return
			}
		}
		_ = s.conn.CloseWrite()
		close(inputDone)
	}()

	select {
	case err := <-outputDone:
		return err
	case <-inputDone:
		select {
		case err := <-outputDone:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	case err := <-detached:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// setupInput puts a terminal stdin in raw mode for TTY sessions and
// returns the (idempotent) restore function.
func (s *streamSession) setupInput() (func(), error) {
	if s.stdin == nil || !s.tty || !s.cc.stdinIsTerminal {
		return func() {}, nil
	}
	restoreTerminal, err := makeRaw(s.stdin)
	if err != nil {
		return nil, fmt.Errorf("unable to set IO streams as raw terminal: %w", err)
	}
	var once sync.Once
	return func() { once.Do(restoreTerminal) }, nil
}

// input is stdin as sent to the daemon: for a TTY, through the detector of
// the detach keys (invalid keys fall back to ctrl-p,ctrl-q with a warning).
func (s *streamSession) input() io.Reader {
	if !s.tty {
		return s.stdin
	}
	keys := defaultDetachKeys
	if s.detachKeys != "" {
		custom, err := parseDetachKeys(s.detachKeys)
		if err != nil {
			fmt.Fprintf(s.cc.stderr, "WARNING: invalid detach escape keys, using default: %v\n", err)
		} else {
			keys = custom
		}
	}
	return &escapeProxy{r: s.stdin, keys: keys}
}

// parseDetachKeys parses docker's detach key syntax: comma-separated
// single characters or ctrl-<a-z @ [ \ ] ^ _>, e.g. "ctrl-a,x".
func parseDetachKeys(keys string) ([]byte, error) {
	var codes []byte
	for _, key := range strings.Split(keys, ",") {
		switch {
		case len(key) == 1:
			codes = append(codes, key[0])
		case key == "DEL":
			codes = append(codes, 127)
		case len(key) == 6 && strings.HasPrefix(key, "ctrl-") && strings.IndexByte(controlKeys, key[5]) >= 0:
			codes = append(codes, byte(strings.IndexByte(controlKeys, key[5])))
		default:
			//lint:ignore ST1005 docker's wording
			return nil, fmt.Errorf("Unknown character: '%s'", key)
		}
	}
	return codes, nil
}

// controlKeys lists, at index N, the character that ctrl- turns into byte N.
const controlKeys = "@abcdefghijklmnopqrstuvwxyz[\\]^_"

// escapeProxy passes stdin through, holding back bytes that may begin the
// detach sequence. Once the whole sequence has been read, it returns what
// came before it, then errDetached: the sequence never reaches the daemon.
// Bytes held back are released when the sequence breaks off; as in
// moby/term's EscapeProxy, the byte that breaks it does not start a new one.
type escapeProxy struct {
	r        io.Reader
	keys     []byte
	matched  int    // how many keys of the sequence have been read
	pending  []byte // read, not yet returned
	detached bool
	err      error // the reader's error, returned once pending is drained
}

func (p *escapeProxy) Read(buf []byte) (int, error) {
	for len(p.pending) == 0 {
		switch {
		case p.detached:
			return 0, errDetached
		case p.err != nil:
			return 0, p.err
		}
		chunk := make([]byte, max(len(buf), 1))
		n, err := p.r.Read(chunk)
		for _, b := range chunk[:n] {
			if b == p.keys[p.matched] {
				if p.matched++; p.matched == len(p.keys) {
					p.detached = true
					break
				}
				continue
			}
			p.pending = append(p.pending, p.keys[:p.matched]...)
			p.pending = append(p.pending, b)
			p.matched = 0
		}
		p.err = err
	}
	n := copy(buf, p.pending)
	p.pending = p.pending[n:]
	return n, nil
}

// withFd runs fn on the file descriptor behind stream, when it has one,
// without switching the descriptor to blocking mode as os.File.Fd would.
func withFd(stream any, fn func(fd int) error) (bool, error) {
	conn, ok := stream.(syscall.Conn)
	if !ok {
		return false, nil
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		return false, nil
	}
	var fnErr error
	if err := raw.Control(func(fd uintptr) { fnErr = fn(int(fd)) }); err != nil {
		return false, err
	}
	return true, fnErr
}

// makeRaw puts the terminal behind stream in raw mode, as docker's
// SetRawTerminal, and returns the function restoring its previous mode.
func makeRaw(stream any) (func(), error) {
	return changeTermios(stream, func(raw *unix.Termios) {
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		raw.Cc[unix.VMIN] = 1
		raw.Cc[unix.VTIME] = 0
	})
}

// changeTermios applies change to the mode of the terminal behind stream
// and returns the function restoring the previous mode; a stream that is
// no terminal is left alone.
func changeTermios(stream any, change func(*unix.Termios)) (func(), error) {
	var saved unix.Termios
	found, err := withFd(stream, func(fd int) error {
		termios, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			return err
		}
		saved = *termios
		changed := *termios
		change(&changed)
		return unix.IoctlSetTermios(fd, unix.TCSETS, &changed)
	})
	if err != nil || !found {
		return func() {}, err
	}
	return func() {
		_, _ = withFd(stream, func(fd int) error {
			return unix.IoctlSetTermios(fd, unix.TCSETS, &saved)
		})
	}, nil
}

// terminalSize is the height and width of the terminal behind stream.
func terminalSize(stream any) (height, width uint, ok bool) {
	found, err := withFd(stream, func(fd int) error {
		ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		if err != nil {
			return err
		}
		height, width = uint(ws.Row), uint(ws.Col)
		return nil
	})
	return height, width, found && err == nil
}

// consoleSize is [height, width] of the terminal on stdout, zero when
// stdout is not one; create and exec send it for -t.
func (cc *cliContext) consoleSize() [2]uint {
	if !cc.stdoutIsTerminal {
		return [2]uint{}
	}
	h, w, _ := terminalSize(cc.stdout)
	return [2]uint{h, w}
}

// resizer sends a terminal size to a container or exec process.
type resizer func(ctx context.Context, height, width uint) error

func containerResizer(api *client.Client, id string) resizer {
	return func(ctx context.Context, height, width uint) error {
		_, err := api.ContainerResize(ctx, id, client.ContainerResizeOptions{Height: height, Width: width})
		return err
	}
}

func execResizer(api *client.Client, id string) resizer {
	return func(ctx context.Context, height, width uint) error {
		_, err := api.ExecResize(ctx, id, client.ExecResizeOptions{Height: height, Width: width})
		return err
	}
}

// monitorTTYSize sends the terminal's size now — retrying up to 10 times,
// 10ms×n apart, before printing "failed to resize tty, using default size"
// — and again on every SIGWINCH, as docker's MonitorTtySize. It returns
// the function that stops watching.
func (cc *cliContext) monitorTTYSize(ctx context.Context, resize resizer) func() {
	resizeNow := func() error {
		h, w, ok := terminalSize(cc.stdout)
		if !ok || (h == 0 && w == 0) {
			return nil
		}
		return resize(ctx, h, w)
	}
	// Subscribed before the first size is read: a change in between
	// would otherwise go unsent until the next one.
	winch := make(chan os.Signal, 1)
	cc.notify(winch, unix.SIGWINCH)
	done := make(chan struct{})
	if err := resizeNow(); err != nil {
		go func() {
			for retry := range 10 {
				select {
				case <-time.After(time.Duration(retry+1) * 10 * time.Millisecond):
				case <-done:
					return
				}
				if err = resizeNow(); err == nil {
					return
				}
			}
			fmt.Fprintln(cc.stderr, "failed to resize tty, using default size")
		}()
	}
	go func() {
		for {
			select {
			case <-winch:
				_ = resizeNow()
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cc.stopNotify(winch)
			close(done)
		})
	}
}

// signalProxy forwards every signal skiff receives to a container as
// POST /containers/{id}/kill?signal=NAME, as docker's sig-proxy: SIGCHLD,
// SIGPIPE and the Go runtime's SIGURG excepted. Failures are ignored (the
// container may be gone). On a third SIGINT/SIGTERM, abort — when not nil —
// gives up the session, as docker's forced exit.
//
// Subscribing is slow: the Go runtime enables each signal in turn on its
// signal thread, about 20 µs apiece, so 0.7 ms for the classic ones and as
// long for the real-time ones (a twentieth of a `run --rm true`). So it is
// done in the proxy's goroutine: run starts the proxy before it creates the
// container, waits for the classic signals' subscription (subscribed) only
// before the start, and names the container (forward) once created; what
// arrives meanwhile waits in the channel. The real-time signals follow
// without being waited for, and the goroutine unsubscribes once the proxy
// stops, without holding up the command's end.
type signalProxy struct {
	signals    chan os.Signal
	subscribed chan struct{} // closed once the classic signals are
	target     chan string   // the container's ID
	done       chan struct{}
	stopOnce   sync.Once
}

// startSignalProxy starts subscribing; signals are forwarded once forward
// names the container.
func (cc *cliContext) startSignalProxy(ctx context.Context, api *client.Client, abort func()) *signalProxy {
	ctx = context.WithoutCancel(ctx)
	p := &signalProxy{
		signals:    make(chan os.Signal, 128),
		subscribed: make(chan struct{}),
		target:     make(chan string, 1),
		done:       make(chan struct{}),
	}
	go func() { // ends with stop
		defer cc.stopNotify(p.signals)
		cc.notify(p.signals, classicSignals()...)
		close(p.subscribed)
		cc.notify(p.signals, realtimeSignals()...)
		var id string
		select {
		case id = <-p.target:
		case <-p.done:
			return
		}
		terminations := 0
		for {
			var sig os.Signal
			select {
			case sig = <-p.signals:
			case <-p.done:
				return
			}
			s, ok := sig.(syscall.Signal)
			if !ok || s == unix.SIGCHLD || s == unix.SIGPIPE || s == unix.SIGURG {
				continue
			}
			if s == unix.SIGINT || s == unix.SIGTERM {
				if terminations++; terminations >= 3 && abort != nil {
					fmt.Fprintf(cc.stderr, "got %d SIGTERM/SIGINTs, forcefully exiting\n", terminations)
					abort()
				}
			}
			name := strings.TrimPrefix(unix.SignalName(s), "SIG")
			if name == "" {
				name = fmt.Sprint(int(s))
			}
			_, _ = api.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: name})
		}
	}()
	return p
}

// forward names the container the signals go to, those received so far
// included. It is called once.
func (p *signalProxy) forward(id string) { p.target <- id }

// waitSubscribed returns once the classic signals are subscribed: from
// then on, none of them ends skiff or goes unforwarded.
func (p *signalProxy) waitSubscribed() { <-p.subscribed }

// stop ends forwarding; the goroutine unsubscribes on its own.
func (p *signalProxy) stop() { p.stopOnce.Do(func() { close(p.done) }) }

// proxySignals forwards signals to the container id from its return on,
// and returns the function that stops forwarding (see signalProxy). Its
// callers, attach and start -a, have no forced exit to offer.
func (cc *cliContext) proxySignals(ctx context.Context, api *client.Client, id string) func() {
	p := cc.startSignalProxy(ctx, api, nil)
	p.forward(id)
	p.waitSubscribed()
	return p.stop
}

// classicSignals are the signals 1 to 31 that a process can catch, and
// realtimeSignals those from 32 to 64 (SIGRTMIN to SIGRTMAX, and the two
// below SIGRTMIN that a C library keeps for itself): together, every signal
// signal.Notify without a list subscribes to.
func classicSignals() []os.Signal {
	var sigs []os.Signal
	for s := syscall.Signal(1); s < 32; s++ {
		if s != unix.SIGKILL && s != unix.SIGSTOP {
			sigs = append(sigs, s)
		}
	}
	return sigs
}

func realtimeSignals() []os.Signal {
	var sigs []os.Signal
	for s := syscall.Signal(32); s <= 64; s++ {
		sigs = append(sigs, s)
	}
	return sigs
}

// notify and stopNotify subscribe to signals through the context's hooks.
func (cc *cliContext) notify(c chan<- os.Signal, sig ...os.Signal) {
	if cc.notifySignals != nil {
		cc.notifySignals(c, sig...)
		return
	}
	signal.Notify(c, sig...)
}

func (cc *cliContext) stopNotify(c chan<- os.Signal) {
	if cc.stopSignals != nil {
		cc.stopSignals(c)
		return
	}
	signal.Stop(c)
}
