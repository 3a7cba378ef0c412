package main

// Isolation as a user checks it from inside a container (docker run --rm
// busybox sh -c '…'): its own PID 1, processes and hostname, Docker's
// default capabilities, no_new_privs and seccomp, read-only /sys and
// /proc/sys, no mount, unshare or keyctl, no device outside the default
// set; and what --privileged, --cap-add/--cap-drop and
// --security-opt seccomp=unconfined change.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// syscallProbeEnv makes this test binary, run inside a container, try the
// calls Docker's seccomp profile and capability set deny and print
// "<call> <errno>" for each.
const syscallProbeEnv = "SKIFF_TEST_SYSCALL_PROBE"

func init() {
	if os.Getenv(syscallProbeEnv) == "1" {
		syscallProbe()
		os.Exit(0)
	}
}

// probeMounts are the docker run arguments that run this test binary as
// the syscall probe in the busybox image: the binary and the host's libc,
// bound read-only.
func probeMounts(t *testing.T) []string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	libc, err := filepath.EvalSymlinks("/lib/x86_64-linux-gnu")
	if err != nil {
		t.Skip("no /lib/x86_64-linux-gnu for the probe's libc")
	}
	return []string{"-v", exe + ":/probe:ro", "-v", libc + ":/lib/x86_64-linux-gnu:ro",
		"-v", libc + ":/lib64:ro", "busybox", "/probe"}
}

func syscallProbe() {
	errnoOf := func(err error) string {
		var errno unix.Errno
		if errors.As(err, &errno) {
			return unix.ErrnoName(errno)
		}
		if err == nil {
			return "ok"
		}
		return err.Error()
	}
	raw := func(trap uintptr, args ...uintptr) error {
		a := make([]uintptr, 6)
		copy(a, args)
		_, _, e := unix.Syscall6(trap, a[0], a[1], a[2], a[3], a[4], a[5])
		if e != 0 {
			return e
		}
		return nil
	}
	str := func(s string) uintptr { b, _ := unix.BytePtrFromString(s); return uintptr(unsafe.Pointer(b)) }
	calls := []struct {
		name string
		err  error
	}{
		{"keyctl", raw(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, uintptr(0xfffffffd) /* session keyring */, 1)},
		{"add_key", raw(unix.SYS_ADD_KEY, str("user"), str("skiff"), str("x"), 1, uintptr(0xfffffffe))},
		{"request_key", raw(unix.SYS_REQUEST_KEY, str("user"), str("skiff"), 0, uintptr(0xfffffffe))},
		{"unshare(CLONE_NEWUSER)", unix.Unshare(unix.CLONE_NEWUSER)},
		{"unshare(CLONE_NEWNS)", unix.Unshare(unix.CLONE_NEWNS)},
		{"mount", unix.Mount("none", "/tmp", "tmpfs", 0, "")},
		{"finit_module", raw(unix.SYS_FINIT_MODULE, 0, str(""), 0)},
		{"init_module", raw(unix.SYS_INIT_MODULE, 0, 0, str(""))},
		{"bpf", raw(unix.SYS_BPF, 0, 0, 0)},
		{"perf_event_open", raw(unix.SYS_PERF_EVENT_OPEN, 0, 0, ^uintptr(0), ^uintptr(0), 0)},
		{"io_uring_setup", raw(unix.SYS_IO_URING_SETUP, 1, 0)},
		{"socket(AF_VSOCK)", raw(unix.SYS_SOCKET, unix.AF_VSOCK, unix.SOCK_STREAM, 0)},
		{"socket(AF_ALG)", raw(unix.SYS_SOCKET, unix.AF_ALG, unix.SOCK_SEQPACKET, 0)},
		{"kexec_load", raw(unix.SYS_KEXEC_LOAD, 0, 0, 0, 0)},
		{"open_by_handle_at", raw(unix.SYS_OPEN_BY_HANDLE_AT, 0, 0, 0)},
		{"pivot_root", unix.PivotRoot("/tmp", "/tmp")},
		{"clone3", raw(unix.SYS_CLONE3, 0, 0)},
		{"sethostname", unix.Sethostname([]byte("evil"))},
		{"settimeofday", unix.Settimeofday(&unix.Timeval{Sec: 1})},
	}
	for _, c := range calls {
		fmt.Println(c.name, errnoOf(c.err))
	}
}

func TestIsolationFromInsideAContainer(t *testing.T) {
	d := withBusybox(t)
	t.Cleanup(func() { checkNoLeftovers(t, d) }) // after the parallel subtests
	sh := func(t *testing.T, script string, opts ...string) result {
		t.Helper()
		args := append(append([]string{"run", "--rm"}, opts...), "busybox", "sh", "-c", script)
		return d.docker(args...)
	}
	// status returns the fields of /proc/self/status inside a container.
	status := func(t *testing.T, opts ...string) map[string]string {
		t.Helper()
		out := mustSucceed(t, "run", sh(t, "cat /proc/self/status", opts...))
		fields := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				fields[k] = strings.TrimSpace(v)
			}
		}
		return fields
	}
	hostStatus := func(key string) string {
		b, _ := os.ReadFile("/proc/self/status")
		m := regexp.MustCompile(`(?m)^` + key + `:\s*(\S+)$`).FindStringSubmatch(string(b))
		if m == nil {
			t.Fatalf("no %s in the host's /proc/self/status", key)
		}
		return m[1]
	}

	t.Run("PID 1 is the container's process and host processes are invisible", func(t *testing.T) {
		t.Parallel()
		out := mustSucceed(t, "run", sh(t, `echo $$; cat /proc/1/cmdline | tr '\0' ' '; echo; ls /proc | grep -c '^[0-9]'`))
		lines := strings.Split(out, "\n")
		if len(lines) < 3 || lines[0] != "1" || !strings.HasPrefix(lines[1], "sh -c echo $$;") {
			t.Errorf("the shell is not PID 1 of its container:\n%s", out)
		}
		// The shell, and the ls and grep of the pipeline (and, briefly, a
		// subshell): nothing of the host's hundreds of processes.
		if len(lines) < 3 || len(lines[2]) != 1 || lines[2] > "4" {
			t.Errorf("the container sees %s processes, want only its own", lines[2])
		}
	})

	t.Run("hostname is its own", func(t *testing.T) {
		t.Parallel()
		id := strings.TrimSpace(mustSucceed(t, "run -d", d.docker("run", "-d", "busybox", "sleep", "60")))
		defer d.docker("rm", "-f", id)
		host, _ := os.Hostname()
		out := mustSucceed(t, "exec", d.docker("exec", id, "sh", "-c", "hostname; cat /etc/hostname; hostname other 2>/dev/null; hostname"))
		if out != id[:12]+"\n"+id[:12]+"\n"+id[:12]+"\n" {
			t.Errorf("hostname inside: %q, want the short ID %s (and no right to change it)", out, id[:12])
		}
		if now, _ := os.Hostname(); now != host {
			t.Errorf("the host's hostname changed from %q to %q", host, now)
		}
	})

	t.Run("capabilities are Docker's default set, no_new_privs and seccomp are on", func(t *testing.T) {
		t.Parallel()
		s := status(t)
		for key, want := range map[string]string{
			"CapPrm": "00000000a80425fb", "CapEff": "00000000a80425fb", "CapBnd": "00000000a80425fb",
			"CapInh": "0000000000000000", "CapAmb": "0000000000000000",
			"NoNewPrivs": "1", "Seccomp": "2",
		} {
			if s[key] != want {
				t.Errorf("%s: %q, want %q", key, s[key], want)
			}
		}
	})

	t.Run("/sys and /proc/sys refuse writes", func(t *testing.T) {
		t.Parallel()
		r := sh(t, `for f in /proc/sys/kernel/domainname /proc/sys/net/ipv4/ip_forward /sys/kernel/uevent_helper /sys/kernel/mm/transparent_hugepage/enabled; do
			if echo 1 > $f; then echo "wrote $f"; fi
		done 2>&1; mkdir /sys/kernel/x 2>&1; true`)
		if strings.Contains(r.stdout, "wrote") || strings.Count(r.stdout, "Read-only file system") != 5 {
			t.Errorf("writes to /sys and /proc/sys:\n%s", r.stdout)
		}
	})

	t.Run("mount, unshare, keyctl and module loading fail", func(t *testing.T) {
		t.Parallel()
		out := mustSucceed(t, "run", sh(t, `
			mount -t tmpfs none /tmp 2>/dev/null && echo "mount worked"
			unshare -U true 2>/dev/null && echo "unshare -U worked"
			unshare -m true 2>/dev/null && echo "unshare -m worked"
			unshare -n true 2>/dev/null && echo "unshare -n worked"
			echo x > /tmp/m.ko; insmod /tmp/m.ko 2>/dev/null && echo "insmod worked"
			true`))
		if out != "" {
			t.Errorf("privileged operations succeeded:\n%s", out)
		}
		// busybox has no keyctl: this test binary, bound into the
		// container with the host's libc, makes the calls itself.
		probe := d.docker(append([]string{"run", "--rm", "-e", syscallProbeEnv + "=1"}, probeMounts(t)...)...)
		want := map[string]string{
			"keyctl": "EPERM", "add_key": "EPERM", "request_key": "EPERM",
			"unshare(CLONE_NEWUSER)": "EPERM", "unshare(CLONE_NEWNS)": "EPERM", "mount": "EPERM",
			"finit_module": "EPERM", "init_module": "EPERM", "bpf": "EPERM", "perf_event_open": "EPERM",
			"io_uring_setup": "EPERM", "socket(AF_VSOCK)": "EPERM", "socket(AF_ALG)": "EPERM",
			"kexec_load": "EPERM", "open_by_handle_at": "EPERM", "pivot_root": "EPERM",
			"clone3": "ENOSYS", "sethostname": "EPERM", "settimeofday": "EPERM",
		}
		got := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(probe.stdout), "\n") {
			if name, errno, ok := strings.Cut(line, " "); ok {
				got[name] = errno
			}
		}
		for name, errno := range want {
			if got[name] != errno {
				t.Errorf("%s in a container: %q, want %s (Docker's seccomp profile)", name, got[name], errno)
			}
		}
		if probe.code != 0 || len(got) != len(want) {
			t.Errorf("the probe: exit %d\nstdout:\n%s\nstderr:\n%s", probe.code, probe.stdout, probe.stderr)
		}
	})

	t.Run("devices outside the default set cannot be opened", func(t *testing.T) {
		t.Parallel()
		r := sh(t, `mknod /tmp/sda b 8 0 && head -c1 /tmp/sda > /dev/null && echo "read a disk"
			mknod /tmp/mem c 1 1 && head -c1 /tmp/mem > /dev/null && echo "read /dev/mem"
			head -c1 /dev/zero | od -An -tx1; echo x > /dev/null && echo ok; ls /dev`)
		if strings.Contains(r.stdout, "read") || !strings.Contains(r.stdout, " 00\nok\n") || strings.Count(r.stderr, "Operation not permitted") != 2 {
			t.Errorf("device access: stdout\n%s\nstderr\n%s", r.stdout, r.stderr)
		}
		for _, dev := range []string{"sda", "vda", "mem", "kmsg"} {
			if regexp.MustCompile(`(?m)^` + dev + `$`).MatchString(r.stdout) {
				t.Errorf("/dev has %s:\n%s", dev, r.stdout)
			}
		}
	})

	t.Run("--privileged gives all capabilities and can mount", func(t *testing.T) {
		t.Parallel()
		s := status(t, "--privileged")
		// Every capability the host has (this machine's bounding set may
		// lack some): Docker gives all.
		want := hostStatus("CapBnd")
		for _, key := range []string{"CapPrm", "CapEff", "CapBnd"} {
			if s[key] != want {
				t.Errorf("privileged %s: %q, want the host's %q", key, s[key], want)
			}
		}
		if s["Seccomp"] != "0" {
			t.Errorf("privileged Seccomp: %q, want 0", s["Seccomp"])
		}
		out := mustSucceed(t, "privileged mount", sh(t, "mount -t tmpfs none /tmp && grep ' /tmp ' /proc/mounts", "--privileged"))
		if !strings.HasPrefix(out, "none /tmp tmpfs") {
			t.Errorf("mount in a privileged container: %q", out)
		}
	})

	t.Run("--cap-add NET_ADMIN and --cap-drop CHOWN change CapEff as Docker's", func(t *testing.T) {
		t.Parallel()
		// a80425fb without CHOWN (bit 0), with NET_ADMIN (bit 12).
		if s := status(t, "--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN"); s["CapEff"] != "00000000a80435fa" || s["CapBnd"] != "00000000a80435fa" {
			t.Errorf("CapEff %q CapBnd %q, want 00000000a80435fa", s["CapEff"], s["CapBnd"])
		}
		r := sh(t, "touch /tmp/f && chown 1000 /tmp/f", "--cap-drop", "CHOWN")
		if r.code == 0 {
			t.Errorf("chown worked without CAP_CHOWN")
		}
		if r := sh(t, "ip link set lo down"); r.code == 0 {
			t.Errorf("ip link set lo down worked without NET_ADMIN")
		}
		if r := sh(t, "ip link set lo down", "--cap-add", "NET_ADMIN"); r.code != 0 {
			t.Errorf("ip link set lo down with NET_ADMIN: exit %d %s", r.code, r.stderr)
		}
	})

	t.Run("--security-opt seccomp=unconfined turns seccomp off", func(t *testing.T) {
		t.Parallel()
		s := status(t, "--security-opt", "seccomp=unconfined")
		if s["Seccomp"] != "0" || s["CapEff"] != "00000000a80425fb" {
			t.Errorf("Seccomp %q CapEff %q, want 0 and the default set", s["Seccomp"], s["CapEff"])
		}
	})

}
