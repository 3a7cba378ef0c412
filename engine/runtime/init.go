package runtime

import (
	"encoding/json"
	"fmt"

	"github.com/skiff-dev/skiff/internal/jsonwarm"
	"golang.org/x/sys/unix"
)

// containerInit is the init role's state: it builds the container its Spec
// describes, then execs the container's first process in place of itself.
type containerInit struct {
	spec *Spec
	// root is the rootfs mount (an O_PATH descriptor of its root
	// directory) until pivot_root.
	root  int
	setup *processSetup
}

// runInit is the init role. It returns only on failure.
func runInit(conn syncConn) error {
	if err := roleStarted(); err != nil {
		return err
	}
	// A prestarted init waits for its spec as long as its monitor is on
	// standby; one started for its container gets it at once, and reads it
	// beside this on another core.
	go jsonwarm.Warm(Spec{})
	var spec Spec
	m, err := receiveSpec(conn, &spec)
	if err != nil {
		return err
	}
	c := &containerInit{
		spec:  &spec,
		root:  -1,
		setup: newProcessSetup(conn, &spec.Process, &spec.Security, spec.Rlimits, m.Console),
	}
	c.setup.bindConsole = true
	c.setup.consoleSize = spec.ConsoleSize
	return runSteps(c.steps())
}

// steps are what init does, in order: build the container's filesystem
// and identity, wait for the parent, then become its process. The
// filesystem comes before the wait (runc's init waits first) so that it
// is built while the monitor prepares the container's cgroup: nothing of
// it is the container's process, and the cgroup is joined before that
// process is set up.
func (c *containerInit) steps() []func() error {
	return append([]func() error{
		c.setupNetwork,
		c.makeMountsPrivate,
		c.mountRootfs,
		c.mountProc,
		c.mountDev,
		c.mountSys,
		c.bindMounts,
		c.pivotRoot,
		c.maskPaths,
		c.readonlyPaths,
		c.setHostname,
		c.setup.awaitResume,
	}, c.setup.steps()...)
}

// setupNetwork gives the init's thread its network: the host's, loopback
// alone in the namespace it was born in, or the namespace at a path. Only
// the thread matters: the process inherits the namespace of the thread that
// calls execve, and /sys, mounted next by the same thread, shows it.
func (c *containerInit) setupNetwork() error {
	switch n := c.spec.Network; {
	case n == "host":
		return nil
	case isNewNetwork(n):
		return bringUpLoopback()
	default:
		return joinNetwork(n)
	}
}

// setHostname sets the container's hostname (in its own UTS namespace).
func (c *containerInit) setHostname() error {
	if c.spec.Hostname == "" {
		return nil
	}
	if err := unix.Sethostname([]byte(c.spec.Hostname)); err != nil {
		return fmt.Errorf("sethostname %q: %w", c.spec.Hostname, err)
	}
	return nil
}

// receiveSpec receives the msgSpec message and decodes its spec into spec.
// The stdio it may carry becomes the role's fds 0, 1 and 2.
func receiveSpec(conn syncConn, spec any) (message, error) {
	m, fds, err := conn.recv()
	if err != nil {
		return m, err
	}
	defer closeAll(fds)
	switch {
	case m.Type == msgSpec && m.Stdio && len(fds) == 3:
		if err := adoptStdio(fds); err != nil {
			return m, err
		}
	case m.Type == msgSpec && !m.Stdio && len(fds) == 0:
	case m.Type == msgSpec:
		return m, fmt.Errorf("sync protocol: spec message with %d fds", len(fds))
	default:
		return m, fmt.Errorf("sync protocol: got %q message, want %q", m.Type, msgSpec)
	}
	if err := json.Unmarshal(m.Spec, spec); err != nil {
		return m, fmt.Errorf("decode spec: %w", err)
	}
	return m, nil
}

// adoptStdio makes fds the role's fds 0, 1 and 2, in that order.
func adoptStdio(fds []int) error {
	for i, fd := range fds {
		if err := unix.Dup3(fd, i, 0); err != nil {
			return fmt.Errorf("make the received fd %d the process's fd %d: %w", fd, i, err)
		}
	}
	return nil
}

// runSteps runs steps in order until one fails.
func runSteps(steps []func() error) error {
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// fdPath is the magic link to fd in the calling process's procfs.
func fdPath(fd int) string { return fmt.Sprintf("/proc/self/fd/%d", fd) }
