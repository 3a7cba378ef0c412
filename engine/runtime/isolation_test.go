package runtime

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/skiff-dev/skiff/engine/runtime/seccomp"
)

// Each case runs a shell command in a default container (Docker's
// capabilities, masks, seccomp, no_new_privs, network none) and checks
// what it prints.
func TestIsolation(t *testing.T) {
	tests := []struct {
		name   string
		script string
		check  func(t *testing.T, out string)
	}{
		{"init is PID 1", "echo $$", equals("1")},
		{"host processes are invisible", "ls /proc", func(t *testing.T, out string) {
			// sh would exec ls as PID 1: only it shows.
			if p := pids(out); len(p) == 0 || len(p) > 2 {
				t.Errorf("pids in /proc: %v", p)
			}
		}},
		{"hostname", "hostname", equals(testHostname)},
		{"capabilities", "cat /proc/self/status", func(t *testing.T, out string) {
			for field, want := range map[string]string{
				"CapPrm": "00000000a80425fb", "CapEff": "00000000a80425fb", "CapBnd": "00000000a80425fb",
				"CapInh": "0000000000000000", "CapAmb": "0000000000000000",
				"NoNewPrivs": "1", "Seccomp": "2",
			} {
				if got := statusField(out, field); got != want {
					t.Errorf("%s: %q, want %q", field, got, want)
				}
			}
		}},
		{"/sys is read-only", "touch /sys/x 2>&1; grep ' /sys ' /proc/mounts", func(t *testing.T, out string) {
			mustContain(t, out, "Read-only file system")
			mustContain(t, out, "sysfs /sys sysfs ro,nosuid,nodev,noexec")
		}},
		{"/proc/sys is read-only", "(echo 1 > /proc/sys/kernel/ns_last_pid) 2>&1; (echo x > /proc/sys/kernel/hostname) 2>&1; true", func(t *testing.T, out string) {
			if n := strings.Count(out, "Read-only file system"); n != 2 {
				t.Errorf("want two read-only errors, got %q", out)
			}
		}},
		{"mounting fails", "mount -t tmpfs x /mnt 2>&1 || echo failed", func(t *testing.T, out string) {
			mustContain(t, out, "failed")
		}},
		{"user namespaces are denied (seccomp)", "unshare -U true 2>&1 || echo failed", func(t *testing.T, out string) {
			mustContain(t, out, "Operation not permitted")
		}},
		{"dev holds only the default nodes", "ls -A /dev", equals(strings.Join([]string{
			"fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero",
		}, "\n"))},
		{"devices work", "head -c 4 /dev/zero | wc -c; head -c 4 /dev/urandom | wc -c; echo x > /dev/null && echo ok", equals("4\n4\nok")},
		{"/dev mounts", "grep -E ' /dev(/pts|/shm|/mqueue)? ' /proc/mounts", func(t *testing.T, out string) {
			mustContain(t, out, "tmpfs /dev tmpfs rw,nosuid,size=65536k,mode=755")
			mustContain(t, out, "devpts /dev/pts devpts rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=666")
			mustContain(t, out, "tmpfs /dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k")
			mustContain(t, out, "mqueue /dev/mqueue mqueue rw,nosuid,nodev,noexec")
		}},
		{"no descriptor leaks (CVE-2024-21626)", "ls /proc/self/fd", equals("0\n1\n2\n3")}, // 3: ls's own directory
		{"cwd is inside", "pwd; readlink /proc/self/cwd", equals("/\n/")},
		{"rootfs is an overlay", "grep ' / ' /proc/mounts | cut -d' ' -f3", equals("overlay")},
		{"rlimits", "ulimit -n; ulimit -Hn", equals("1024\n1024")},
		{"umask", "umask", equals("0022")},
		{"own session", "cut -d' ' -f6 /proc/self/stat", equals("1")},
		{"HOME from passwd", "echo $HOME", equals("/root")},
		{"root", "id", equals("uid=0(root) gid=0(root)")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.check(t, runOK(t, sh(t, tt.script)))
		})
	}
}

func equals(want string) func(*testing.T, string) {
	return func(t *testing.T, got string) {
		t.Helper()
		if got != want {
			t.Errorf("got:\n%s\nwant:\n%s", got, want)
		}
	}
}

func mustContain(t *testing.T, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("output lacks %q:\n%s", want, got)
	}
}

func TestSeccompWithoutNoNewPrivs(t *testing.T) {
	spec := sh(t, "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status; unshare -U true 2>&1 || echo denied")
	spec.Security.NoNewPrivileges = false
	out := runOK(t, spec)
	for _, want := range []string{"NoNewPrivs:\t0", "Seccomp:\t2", "CapEff:\t00000000a80425fb", "denied"} {
		mustContain(t, out, want)
	}
}

// A compiled program in the spec is the one installed: the daemon compiles
// Docker's profile once, and the init does not compile its own. This one
// denies mkdir(2), which Docker's profile allows.
func TestSeccompProgramGiven(t *testing.T) {
	f, err := seccomp.Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno}},
	})
	if err != nil {
		t.Fatal(err)
	}
	spec := sh(t, "grep '^Seccomp:' /proc/self/status; mkdir /tmp/d 2>&1 || echo denied")
	spec.Security.SeccompProgram = f.Program()
	out := runOK(t, spec)
	for _, want := range []string{"Seccomp:\t2", "Operation not permitted", "denied"} {
		mustContain(t, out, want)
	}
}

func TestUnconfined(t *testing.T) {
	spec := sh(t, "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; unshare -U true && echo allowed")
	spec.Security.Seccomp = false
	spec.Security.NoNewPrivileges = false
	out := runOK(t, spec)
	for _, want := range []string{"NoNewPrivs:\t0", "Seccomp:\t0", "allowed"} {
		mustContain(t, out, want)
	}
}

func TestCapabilitiesDropped(t *testing.T) {
	spec := sh(t, "grep -E '^Cap(Eff|Bnd):' /proc/self/status; chown 1000 /etc/passwd 2>&1 || echo denied")
	spec.Security.Capabilities = []string{"CAP_KILL"}
	out := runOK(t, spec)
	for _, want := range []string{"CapEff:\t0000000000000020", "CapBnd:\t0000000000000020", "denied"} {
		mustContain(t, out, want)
	}
}

func TestPrivileged(t *testing.T) {
	spec := sh(t, `grep -E '^Cap(Eff|Bnd):' /proc/self/status
grep ' /sys ' /proc/mounts
stat -c '%F' /proc/keys
ls /dev`)
	spec.Security = Security{Privileged: true}
	out := runOK(t, spec)
	// Every capability the engine has (this machine withholds some).
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	all := statusField(string(b), "CapEff")
	mustContain(t, out, "CapEff:\t"+all)
	mustContain(t, out, "CapBnd:\t"+all)
	mustContain(t, out, "sysfs /sys sysfs rw,")
	mustContain(t, out, "regular") // /proc/keys, not masked
	// The host's device nodes are there.
	hostDev, err := os.ReadDir("/dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range hostDev {
		if d.Type()&os.ModeCharDevice != 0 && d.Name() != "console" && !slices.Contains(strings.Fields(out), d.Name()) {
			t.Errorf("host device /dev/%s missing from the privileged container's /dev", d.Name())
		}
	}
}

// TestMaskedPaths checks every default masked path this kernel has: a file
// reads empty (it is /dev/null), a directory is an empty read-only tmpfs.
func TestMaskedPaths(t *testing.T) {
	var script strings.Builder
	var want []string
	for _, p := range DefaultMaskedPaths {
		fi, err := os.Stat(p)
		if err != nil {
			continue // this kernel has no such file
		}
		if fi.IsDir() {
			fmt.Fprintf(&script, "echo %[1]s $(ls -A %[1]s | wc -l) $(grep -c ' %[1]s tmpfs ro,' /proc/mounts)\n", p)
			want = append(want, p+" 0 1")
		} else {
			fmt.Fprintf(&script, "echo %[1]s $(wc -c < %[1]s) $(stat -c '%%t:%%T' %[1]s)\n", p)
			want = append(want, p+" 0 1:3")
		}
	}
	if len(want) < 4 {
		t.Fatalf("only %d of the masked paths exist here", len(want))
	}
	equals(strings.Join(want, "\n"))(t, runOK(t, sh(t, script.String())))
}
