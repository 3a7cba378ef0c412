package runtime

import (
	"fmt"
	"math"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/engine/runtime/seccomp"
)

// processSetup is what init and exec-init do alike once they are inside the
// container: give the process its user, working directory, terminal,
// limits and privileges, then execve it. Everything runs on the role's
// locked main thread, the one that calls execve.
type processSetup struct {
	conn    syncConn
	process *Process
	sec     *Security
	rlimits []Rlimit
	console bool
	// bindConsole: in console mode, the pty also becomes /dev/console
	// (the container's first process only).
	bindConsole bool
	// consoleSize is the size (rows, columns) of a pty allocated in
	// console mode; zero leaves it 0x0.
	consoleSize [2]uint16

	// filter delivers the seccomp filter, compiled on another thread while
	// this one sets the container up; nil without seccomp.
	filter <-chan compiledFilter
	user   execUser
	env    []string
	path   string // the executable, found in the container's PATH
}

type compiledFilter struct {
	filter *seccomp.Filter
	err    error
}

func newProcessSetup(conn syncConn, process *Process, sec *Security, rlimits []Rlimit, console bool) *processSetup {
	p := &processSetup{conn: conn, process: process, sec: sec, rlimits: rlimits, console: console}
	switch {
	case sec.Seccomp && sec.SeccompProgram != nil:
		ch := make(chan compiledFilter, 1)
		f, err := sec.SeccompProgram.Filter()
		ch <- compiledFilter{f, err}
		p.filter = ch
	case sec.Seccomp:
		// Compiling Docker's profile takes about half a millisecond of CPU:
		// done meanwhile on another core. It is pure computation, so the
		// thread it runs on does not matter.
		ch := make(chan compiledFilter, 1)
		caps := sec.Capabilities
		if sec.Privileged {
			caps = capabilityNames()
		}
		go func() {
			f, err := seccomp.Default(caps)
			ch <- compiledFilter{f, err}
		}()
		p.filter = ch
	}
	return p
}

// steps are the process's half of the init's steps, in order.
func (p *processSetup) steps() []func() error {
	return []func() error{
		p.resolveUser,
		p.setupCwd,
		p.setupTerminal,
		p.setRlimits,
		p.setNoNewPrivs,
		p.seccompBeforeDrop,
		p.dropPrivileges,
		p.seccompAfterDrop,
		p.lookPath,
		p.closeLeakedFDs,
		p.exec,
	}
}

// awaitResume tells the parent the role runs in its namespaces and waits
// until Hooks.Created has run there, then joins the cgroups of Hooks.Join.
func (p *processSetup) awaitResume() error {
	if err := p.conn.send(message{Type: msgCreated}); err != nil {
		return err
	}
	m, fds, err := p.conn.recv()
	if err != nil {
		return err
	}
	defer closeAll(fds)
	switch {
	case m.Type == msgError && m.Error != nil:
		return m.Error.err()
	case m.Type != msgResume:
		return fmt.Errorf("sync protocol: got %q message, want %q", m.Type, msgResume)
	}
	return joinCgroups(fds)
}

// joinCgroups moves the calling thread into the v1 cgroup of each "tasks"
// file in fds (see Hooks.Join).
func joinCgroups(fds []int) error {
	for _, fd := range fds {
		if _, err := unix.Write(fd, []byte("0")); err != nil {
			return fmt.Errorf("join cgroup (%s): %w", fdTarget(fd), err)
		}
	}
	return nil
}

// fdTarget is what fd refers to, for error messages.
func fdTarget(fd int) string {
	target, err := os.Readlink(fdPath(fd))
	if err != nil {
		return fmt.Sprintf("fd %d", fd)
	}
	return target
}

// resolveUser looks the process's user up in the container's /etc/passwd
// and /etc/group, and completes the environment with HOME and PATH as
// Docker does.
func (p *processSetup) resolveUser() error {
	u, err := lookupUser(p.process.User)
	if err != nil {
		return err
	}
	p.user = u
	p.env = p.process.Env
	if !hasEnv(p.env, "HOME") {
		p.env = append(p.env, "HOME="+u.home)
	}
	if !hasEnv(p.env, "PATH") {
		p.env = append(p.env, "PATH="+defaultPath)
	}
	return nil
}

// defaultPath is the PATH of a process whose environment sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// setupCwd makes the working directory the process's, creating it (owned
// by the process's user, as Docker does) if missing.
//
// CVE-2024-21626: the directory is resolved inside the container's root,
// refusing magic links such as /proc/self/fd/N that could lead to a
// descriptor of the host's filesystem, and getcwd must then name a path
// under the root.
func (p *processSetup) setupCwd() error {
	cwd := p.process.Cwd
	if cwd == "" {
		cwd = "/"
	}
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the container's root: %w", err)
	}
	defer unix.Close(root)
	chown := func(fd int) error {
		return unix.Fchownat(fd, "", p.user.uid, p.user.gid, unix.AT_EMPTY_PATH)
	}
	dir, err := ensureInRoot(root, cwd, kindDir, chown)
	if err != nil {
		return invalid("chdir to cwd (%q): %v", cwd, err)
	}
	defer unix.Close(dir)
	if err := unix.Fchdir(dir); err != nil {
		return invalid("chdir to cwd (%q): %v", cwd, err)
	}
	return verifyCwd()
}

// verifyCwd checks that the working directory is under the root: the
// kernel's getcwd prefixes a directory it cannot reach from the root with
// "(unreachable)".
func verifyCwd() error {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Getcwd(buf)
	if err != nil {
		return fmt.Errorf("getcwd: %w", err)
	}
	if cwd := string(buf[:max(n-1, 0)]); !strings.HasPrefix(cwd, "/") {
		return fmt.Errorf("the working directory %q is outside the container's root", cwd)
	}
	return nil
}

// setRlimits sets the process's resource limits. A hard limit above the
// current one cannot be set (raising it needs CAP_SYS_RESOURCE in the
// engine, and some hosts refuse it anyway), so it is an error here rather
// than an EPERM.
func (p *processSetup) setRlimits() error {
	for _, r := range p.rlimits {
		resource, ok := rlimitResource(r.Type)
		if !ok {
			return invalid("unknown rlimit %q", r.Type)
		}
		if r.Soft > r.Hard {
			return invalid("rlimit %s: soft limit %d is above the hard limit %d", r.Type, r.Soft, r.Hard)
		}
		var cur unix.Rlimit
		if err := unix.Getrlimit(resource, &cur); err != nil {
			return fmt.Errorf("getrlimit %s: %w", r.Type, err)
		}
		if r.Hard > cur.Max {
			return invalid("rlimit %s: hard limit %s is above the engine's own hard limit %s, which cannot be raised",
				r.Type, rlimitString(r.Hard), rlimitString(cur.Max))
		}
		// unix.Setrlimit also keeps Go's execve from restoring the
		// RLIMIT_NOFILE it found when it started.
		if err := unix.Setrlimit(resource, &unix.Rlimit{Cur: r.Soft, Max: r.Hard}); err != nil {
			return fmt.Errorf("setrlimit %s: %w", r.Type, err)
		}
	}
	return nil
}

func rlimitString(v uint64) string {
	if v == math.MaxUint64 {
		return "unlimited"
	}
	return fmt.Sprint(v)
}

// rlimitResource maps "RLIMIT_NOFILE" to its number.
func rlimitResource(name string) (int, bool) {
	switch name {
	case "RLIMIT_AS":
		return unix.RLIMIT_AS, true
	case "RLIMIT_CORE":
		return unix.RLIMIT_CORE, true
	case "RLIMIT_CPU":
		return unix.RLIMIT_CPU, true
	case "RLIMIT_DATA":
		return unix.RLIMIT_DATA, true
	case "RLIMIT_FSIZE":
		return unix.RLIMIT_FSIZE, true
	case "RLIMIT_LOCKS":
		return unix.RLIMIT_LOCKS, true
	case "RLIMIT_MEMLOCK":
		return unix.RLIMIT_MEMLOCK, true
	case "RLIMIT_MSGQUEUE":
		return unix.RLIMIT_MSGQUEUE, true
	case "RLIMIT_NICE":
		return unix.RLIMIT_NICE, true
	case "RLIMIT_NOFILE":
		return unix.RLIMIT_NOFILE, true
	case "RLIMIT_NPROC":
		return unix.RLIMIT_NPROC, true
	case "RLIMIT_RSS":
		return unix.RLIMIT_RSS, true
	case "RLIMIT_RTPRIO":
		return unix.RLIMIT_RTPRIO, true
	case "RLIMIT_RTTIME":
		return unix.RLIMIT_RTTIME, true
	case "RLIMIT_SIGPENDING":
		return unix.RLIMIT_SIGPENDING, true
	case "RLIMIT_STACK":
		return unix.RLIMIT_STACK, true
	}
	return 0, false
}

// setNoNewPrivs sets no_new_privs if asked: setuid binaries and file
// capabilities then grant nothing.
func (p *processSetup) setNoNewPrivs() error {
	if !p.sec.NoNewPrivileges {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	return nil
}

// Seccomp is the last step before execve, since it forbids system calls
// the setup makes (mount, pivot_root, setns...). Without no_new_privs,
// though, loading a filter needs CAP_SYS_ADMIN, which dropPrivileges
// drops: then it is loaded just before, as runc does. Docker's profile
// allows what dropPrivileges calls (prctl, capset, setres[ug]id,
// setgroups).

func (p *processSetup) seccompBeforeDrop() error {
	if p.filter == nil || p.sec.NoNewPrivileges {
		return nil
	}
	return p.installSeccomp()
}

func (p *processSetup) seccompAfterDrop() error {
	if p.filter == nil || !p.sec.NoNewPrivileges {
		return nil
	}
	return p.installSeccomp()
}

func (p *processSetup) installSeccomp() error {
	r := <-p.filter
	if r.err != nil {
		return r.err
	}
	return r.filter.Install()
}

// closeLeakedFDs marks every descriptor above stdio close-on-exec
// (CVE-2024-21626): only 0, 1 and 2 reach the process. The sync socket is
// among them, and its closing tells the parent execve succeeded.
func (p *processSetup) closeLeakedFDs() error {
	if err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close_range(3, ~0, CLOSE_RANGE_CLOEXEC): %w", err)
	}
	return nil
}

// exec replaces the role with the container's process. It returns only if
// execve failed.
func (p *processSetup) exec() error {
	unix.Umask(0o022)
	if err := p.conn.send(message{Type: msgExec}); err != nil {
		return err
	}
	err := unix.Exec(p.path, p.process.Args, p.env)
	return execFailure(p.process.Args[0], err)
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

// getEnv returns the value of key in env, the last one if it is set twice
// (as the C library would).
func getEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}
