package seccomp

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The tests in this file install filters for real. The test binary
// re-executes itself with childEnv set; the child locks its thread, sets
// no_new_privs, installs the filter, makes one system call and prints the
// errno; the parent checks it.
//
// Every case runs twice:
//
//   - "real": the call runs under the filter alone; denied calls must fail
//     with the filter's errno, allowed ones do whatever the kernel does.
//   - "verdict": a marker filter is installed first, returning passErrno
//     for exactly this call (all six arguments compared). Filters stack and
//     the kernel keeps the strongest action, the newest filter's on a tie,
//     so the call fails with the filter's own errno when the filter denies
//     it and with passErrno when the filter lets it through: that tells what
//     the filter decided, whatever the kernel would have done (io_uring may
//     be disabled by sysctl, kexec not built in...), and the call never
//     really runs.
const (
	childEnv  = "SKIFF_SECCOMP_CHILD" // profile/probe/mode
	dirEnv    = "SKIFF_SECCOMP_DIR"   // scratch directory for probes that take a path
	passErrno = unix.EHWPOISON

	modeReal    = "real"
	modeVerdict = "verdict"
)

// defaultCaps is Docker's default capability set.
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(childMain(spec, os.Getenv(dirEnv)))
	}
	os.Exit(m.Run())
}

type installCase struct {
	profile string // see childFilter
	probe   string // see newProbe
	// deny is the errno the filter fails the call with; 0 if it lets the
	// call through, and then kernel is what the call returns (0: success).
	deny, kernel unix.Errno
}

func TestInstall(t *testing.T) {
	cases := []installCase{
		{profile: "default", probe: "getpid"},
		{profile: "default", probe: "read"},
		{profile: "default", probe: "write"},
		{profile: "default", probe: "openat"},
		{profile: "default", probe: "mmap"},
		{profile: "default", probe: "fork"},
		{profile: "default", probe: "socket-inet"},
		{profile: "default", probe: "socket-unix"},
		{profile: "default", probe: "socket-netlink"},
		{profile: "default", probe: "personality-query"},
		{profile: "default", probe: "mount", deny: unix.EPERM},
		{profile: "default", probe: "umount2", deny: unix.EPERM},
		{profile: "default", probe: "unshare-user", deny: unix.EPERM},
		{profile: "default", probe: "unshare-uts", deny: unix.EPERM},
		{profile: "default", probe: "keyctl", deny: unix.EPERM},
		{profile: "default", probe: "add_key", deny: unix.EPERM},
		{profile: "default", probe: "kexec_load", deny: unix.EPERM},
		{profile: "default", probe: "init_module", deny: unix.EPERM},
		{profile: "default", probe: "finit_module", deny: unix.EPERM},
		{profile: "default", probe: "reboot", deny: unix.EPERM},
		{profile: "default", probe: "pivot_root", deny: unix.EPERM},
		{profile: "default", probe: "io_uring_setup", deny: unix.EPERM},
		{profile: "default", probe: "userfaultfd", deny: unix.EPERM},
		{profile: "default", probe: "bpf", deny: unix.EPERM},
		{profile: "default", probe: "perf_event_open", deny: unix.EPERM},
		{profile: "default", probe: "clone-newns", deny: unix.EPERM},
		{profile: "default", probe: "clone-newuser", deny: unix.EPERM},
		{profile: "default", probe: "clone3", deny: unix.ENOSYS},
		{profile: "default", probe: "socket-alg", deny: unix.EPERM},
		{profile: "default", probe: "socket-vsock", deny: unix.EPERM},
		{profile: "default", probe: "personality-read-implies-exec", deny: unix.EPERM},

		// CAP_SYS_ADMIN lifts the namespace and mount restrictions: the
		// kernel, not the filter, answers.
		{profile: "sys_admin", probe: "unshare-uts"},
		{profile: "sys_admin", probe: "mount", kernel: unix.ENOENT},
		{profile: "sys_admin", probe: "umount2", kernel: unix.ENOENT},
		{profile: "sys_admin", probe: "clone-newns"},
		{profile: "sys_admin", probe: "clone3", kernel: unix.EINVAL},
		{profile: "sys_admin", probe: "bpf", kernel: unix.EINVAL},
		{profile: "sys_admin", probe: "kexec_load", deny: unix.EPERM}, // in no group
		{profile: "sys_admin", probe: "keyctl", deny: unix.EPERM},     // in no group

		// A custom profile: allow everything but mkdirat.
		{profile: "custom", probe: "mkdirat", deny: unix.EACCES},
		{profile: "custom", probe: "getpid"},
		{profile: "custom", probe: "mount", kernel: unix.ENOENT},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.profile+"/"+c.probe, func(t *testing.T) {
			t.Parallel()
			wantVerdict, wantReal := passErrno, c.kernel
			if c.deny != 0 {
				wantVerdict, wantReal = c.deny, c.deny
			}
			if got := runChild(t, c, modeVerdict, dir); got != wantVerdict {
				t.Errorf("verdict: got %s (%d), want %s (%d)", errName(got), got, errName(wantVerdict), wantVerdict)
			}
			if got := runChild(t, c, modeReal, dir); got != wantReal {
				t.Errorf("real call: got %s (%d), want %s (%d)", errName(got), got, errName(wantReal), wantReal)
			}
		})
	}
}

func errName(e unix.Errno) string {
	if e == 0 {
		return "success"
	}
	if e == passErrno {
		return "let through"
	}
	return unix.ErrnoName(e)
}

// runChild runs one case in a child process and returns the errno of its
// probe.
func runChild(t *testing.T, c installCase, mode, dir string) unix.Errno {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childEnv+"="+c.profile+"/"+c.probe+"/"+mode,
		dirEnv+"="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s child: %v\nstdout: %s\nstderr: %s", mode, err, &stdout, &stderr)
	}
	out := strings.TrimSpace(stdout.String())
	errno, err := strconv.Atoi(strings.TrimPrefix(out, "errno="))
	if err != nil || !strings.HasPrefix(out, "errno=") {
		t.Fatalf("%s child: unexpected output %q (stderr: %s)", mode, out, &stderr)
	}
	return unix.Errno(errno)
}

// childMain runs in the child process. Its exit code is 0 when the probe
// ran, whatever its result.
func childMain(spec, dir string) int {
	if err := child(spec, dir); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	return 0
}

func child(spec, dir string) error {
	// The filter only applies to this thread: keep the goroutine on it.
	runtime.LockOSThread()
	parts := strings.Split(spec, "/")
	if len(parts) != 3 {
		return fmt.Errorf("bad spec %q", spec)
	}
	profile, probeName, mode := parts[0], parts[1], parts[2]
	p, err := newProbe(probeName, dir)
	if err != nil {
		return err
	}
	f, err := childFilter(profile)
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if mode == modeVerdict {
		if err := installMarker(p); err != nil {
			return err
		}
	}
	if err := f.Install(); err != nil {
		return err
	}
	fmt.Printf("errno=%d\n", int(p.run()))
	return nil
}

func childFilter(profile string) (*Filter, error) {
	switch profile {
	case "default":
		return Default(defaultCaps)
	case "sys_admin":
		return Default(append([]string{"CAP_SYS_ADMIN"}, defaultCaps...))
	case "custom":
		eacces := uint(unix.EACCES)
		return Compile(&specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdirat"}, Action: specs.ActErrno, ErrnoRet: &eacces},
			},
		})
	}
	return nil, fmt.Errorf("unknown profile %q", profile)
}

// installMarker installs a filter that fails exactly the probe's call
// with passErrno and allows everything else.
func installMarker(p probe) error {
	pass := uint(passErrno)
	args := make([]specs.LinuxSeccompArg, len(p.args))
	for i, a := range p.args {
		args[i] = specs.LinuxSeccompArg{Index: uint(i), Value: uint64(a), Op: specs.OpEqualTo}
	}
	f, err := Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{p.syscall}, Action: specs.ActErrno, ErrnoRet: &pass, Args: args},
		},
	})
	if err != nil {
		return fmt.Errorf("marker: %w", err)
	}
	return f.Install()
}

// probe is one system call with all six argument registers given, so that
// the marker filter can match it exactly.
type probe struct {
	syscall string // name, for the marker filter
	nr      uintptr
	args    [6]uintptr
	forks   bool          // the call creates a process that must exit at once
	cleanup func(uintptr) // run on success with the call's result
	keep    []any         // memory the arguments point to
}

// run makes the call and returns its errno (0 on success).
func (p probe) run() unix.Errno {
	r, _, errno := unix.RawSyscall6(p.nr, p.args[0], p.args[1], p.args[2], p.args[3], p.args[4], p.args[5])
	if errno == 0 && p.forks && r == 0 {
		// In the new process: leave without touching the Go runtime.
		unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
	}
	runtime.KeepAlive(p.keep)
	if errno == 0 && p.cleanup != nil {
		p.cleanup(r)
	}
	return errno
}

// Arguments for the probes. None of them harms the host if the filter
// wrongly lets it through: paths do not exist, flags are invalid, new
// processes exit at once.
const (
	missingPath = "/nonexistent/skiff-seccomp-test"
	// readImpliesExec is READ_IMPLIES_EXEC, a persona Docker's profile
	// does not allow.
	readImpliesExec = 0x0400000
)

func newProbe(name, dir string) (probe, error) {
	switch name {
	case "getpid":
		return call("getpid", unix.SYS_GETPID), nil
	case "read", "write":
		return ioProbe(name)
	case "openat":
		path, err := unix.BytePtrFromString("/dev/null")
		if err != nil {
			return probe{}, err
		}
		p := call("openat", unix.SYS_OPENAT, atFDCWD(), ptr(path), unix.O_RDONLY|unix.O_CLOEXEC)
		p.keep, p.cleanup = []any{path}, closeFD
		return p, nil
	case "mmap":
		// An odd length, so that the marker filter cannot catch the Go
		// runtime's own mmap calls.
		const length = 0x35000
		p := call("mmap", unix.SYS_MMAP, 0, length, unix.PROT_READ|unix.PROT_WRITE,
			unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, ^uintptr(0), 0)
		p.cleanup = func(addr uintptr) { unix.RawSyscall(unix.SYS_MUNMAP, addr, length, 0) }
		return p, nil
	case "fork":
		return cloneProbe(uintptr(unix.SIGCHLD)), nil
	case "clone-newns":
		return cloneProbe(unix.CLONE_NEWNS | uintptr(unix.SIGCHLD)), nil
	case "clone-newuser":
		return cloneProbe(unix.CLONE_NEWUSER | uintptr(unix.SIGCHLD)), nil
	case "clone3":
		return call("clone3", unix.SYS_CLONE3, 0, 0), nil
	case "unshare-user":
		return call("unshare", unix.SYS_UNSHARE, unix.CLONE_NEWUSER), nil
	case "unshare-uts":
		return call("unshare", unix.SYS_UNSHARE, unix.CLONE_NEWUTS), nil
	case "socket-inet":
		return socketProbe(unix.AF_INET, unix.SOCK_STREAM), nil
	case "socket-unix":
		return socketProbe(unix.AF_UNIX, unix.SOCK_STREAM), nil
	case "socket-netlink":
		return socketProbe(unix.AF_NETLINK, unix.SOCK_RAW), nil
	case "socket-alg":
		return socketProbe(unix.AF_ALG, unix.SOCK_SEQPACKET), nil
	case "socket-vsock":
		return socketProbe(unix.AF_VSOCK, unix.SOCK_STREAM), nil
	case "personality-query":
		return call("personality", unix.SYS_PERSONALITY, 0xffffffff), nil
	case "personality-read-implies-exec":
		return call("personality", unix.SYS_PERSONALITY, readImpliesExec), nil
	case "keyctl":
		// KEYCTL_GET_KEYRING_ID of the session keyring, without creating it.
		return call("keyctl", unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, uintptr(negative(unix.KEY_SPEC_SESSION_KEYRING)), 0), nil
	case "add_key":
		return call("add_key", unix.SYS_ADD_KEY, 0, 0, 0, 0, 0), nil
	case "kexec_load":
		return call("kexec_load", unix.SYS_KEXEC_LOAD, 0, 0, 0, 0xffffffff), nil
	case "init_module":
		return call("init_module", unix.SYS_INIT_MODULE, 0, 0, 0), nil
	case "finit_module":
		return call("finit_module", unix.SYS_FINIT_MODULE, ^uintptr(0), 0, 0), nil
	case "reboot":
		return call("reboot", unix.SYS_REBOOT, 0, 0, 0, 0), nil // bad magic: EINVAL
	case "bpf":
		return call("bpf", unix.SYS_BPF, 0xffff, 0, 0), nil // unknown command: EINVAL
	case "perf_event_open":
		return call("perf_event_open", unix.SYS_PERF_EVENT_OPEN, 0, 0, ^uintptr(0), ^uintptr(0), 0), nil
	case "io_uring_setup":
		return call("io_uring_setup", unix.SYS_IO_URING_SETUP, 0, 0), nil
	case "userfaultfd":
		return call("userfaultfd", unix.SYS_USERFAULTFD, 0x7fffffff), nil // invalid flags
	case "mount", "umount2", "pivot_root", "mkdirat":
		return pathProbe(name, dir)
	}
	return probe{}, fmt.Errorf("unknown probe %q", name)
}

func call(name string, nr uintptr, args ...uintptr) probe {
	p := probe{syscall: name, nr: nr}
	copy(p.args[:], args)
	return p
}

func cloneProbe(flags uintptr) probe {
	p := call("clone", unix.SYS_CLONE, flags, 0, 0, 0, 0, 0)
	p.forks = true
	p.cleanup = func(pid uintptr) {
		var status unix.WaitStatus
		_, _ = unix.Wait4(int(pid), &status, 0, nil)
	}
	return p
}

func socketProbe(domain, typ int) probe {
	p := call("socket", unix.SYS_SOCKET, uintptr(domain), uintptr(typ|unix.SOCK_CLOEXEC), 0)
	p.cleanup = closeFD
	return p
}

// ioProbe reads 8 bytes from /dev/zero or writes 8 bytes to /dev/null.
func ioProbe(name string) (probe, error) {
	path, flag, nr := "/dev/zero", os.O_RDONLY, uintptr(unix.SYS_READ)
	if name == "write" {
		path, flag, nr = "/dev/null", os.O_WRONLY, unix.SYS_WRITE
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return probe{}, err
	}
	buf := make([]byte, 8)
	p := call(name, nr, f.Fd(), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	p.keep = []any{f, buf}
	return p, nil
}

func pathProbe(name, dir string) (probe, error) {
	target := missingPath
	if name == "mkdirat" {
		target = filepath.Join(dir, "mkdirat")
	}
	path, err := unix.BytePtrFromString(target)
	if err != nil {
		return probe{}, err
	}
	var p probe
	switch name {
	case "mount":
		fstype, err := unix.BytePtrFromString("tmpfs")
		if err != nil {
			return probe{}, err
		}
		p = call(name, unix.SYS_MOUNT, ptr(fstype), ptr(path), ptr(fstype), 0, 0)
		p.keep = []any{fstype}
	case "umount2":
		p = call(name, unix.SYS_UMOUNT2, ptr(path), 0)
	case "pivot_root":
		p = call(name, unix.SYS_PIVOT_ROOT, ptr(path), ptr(path))
	case "mkdirat":
		p = call(name, unix.SYS_MKDIRAT, atFDCWD(), ptr(path), 0o755)
	}
	p.keep = append(p.keep, path)
	return p, nil
}

func ptr(b *byte) uintptr { return uintptr(unsafe.Pointer(b)) }

func atFDCWD() uintptr { return uintptr(negative(unix.AT_FDCWD)) }

// negative returns a negative int as the 64-bit register value the kernel
// sees (sign-extended).
func negative(v int) uint64 { return uint64(int64(v)) }

func closeFD(fd uintptr) { _ = unix.Close(int(fd)) }

func TestInstallEmptyFilter(t *testing.T) {
	var f *Filter
	if err := f.Install(); err == nil {
		t.Fatal("Install of a nil filter succeeded")
	}
}
