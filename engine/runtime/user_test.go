package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
# a comment
007:x:7:7::/seven:/bin/sh
big:x:4294967296:0::/:/bin/sh
`

const testGroup = `root:x:0:
wheel:x:10:root,app
app:x:1000:
staff:x:50:app
`

func TestParseUser(t *testing.T) {
	tests := []struct {
		spec string
		want execUser
	}{
		{"", execUser{uid: 0, gid: 0, groups: []int{10}, home: "/root"}},
		{"root", execUser{uid: 0, gid: 0, groups: []int{10}, home: "/root"}},
		{"app", execUser{uid: 1000, gid: 1000, groups: []int{10, 50}, home: "/home/app"}},
		{"1000", execUser{uid: 1000, gid: 1000, groups: []int{10, 50}, home: "/home/app"}},
		{"1000:1000", execUser{uid: 1000, gid: 1000, home: "/home/app"}},
		{"app:staff", execUser{uid: 1000, gid: 50, home: "/home/app"}},
		{"app:0", execUser{uid: 1000, gid: 0, home: "/home/app"}},
		{"4242", execUser{uid: 4242, gid: 0, home: "/"}},         // numeric IDs need not exist
		{"4242:4343", execUser{uid: 4242, gid: 4343, home: "/"}}, // nor numeric groups
		{"daemon", execUser{uid: 1, gid: 1, home: "/usr/sbin"}},
		{"7", execUser{uid: 7, gid: 7, home: "/seven"}}, // a uid is a number, not a name
		{"2147483647", execUser{uid: 2147483647, home: "/"}},
	}
	for _, tt := range tests {
		got, err := parseUser(tt.spec, []byte(testPasswd), []byte(testGroup))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseUser(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
	}
}

func TestParseUserErrors(t *testing.T) {
	tests := map[string]string{
		"nosuch":      "unable to find user nosuch: no matching entries in passwd file",
		"app:nosuch":  "unable to find group nosuch: no matching entries in group file",
		"-1":          "uids and gids must be in range 0-2147483647",
		"2147483648":  "uids and gids must be in range 0-2147483647",
		"4294967295":  "uids and gids must be in range 0-2147483647", // setresuid's "unchanged"
		"4294967296":  "uids and gids must be in range 0-2147483647", // wraps to 0 in 32 bits
		"1:-1":        "uids and gids must be in range 0-2147483647",
		"big":         `user big in /etc/passwd: uid "4294967296": uids and gids must be in range 0-2147483647`,
		"99999999999": "uids and gids must be in range 0-2147483647",
	}
	for spec, want := range tests {
		u, err := parseUser(spec, []byte(testPasswd), []byte(testGroup))
		if !errdefs.IsInvalidArgument(err) || err.Error() != want {
			t.Errorf("parseUser(%q) = %+v, %v; want an invalid-argument error %q", spec, u, err, want)
		}
	}
}

func TestUser(t *testing.T) {
	tests := []struct{ user, want string }{
		// busybox's id omits groups= when there are no supplementary
		// groups, as the image's /etc/group lists no members.
		{"app", "uid=1000(app) gid=1000(app) /home/app"},
		{"1000:1000", "uid=1000(app) gid=1000(app) /home/app"},
		{"nobody", "uid=65534(nobody) gid=65534(nogroup) /nonexistent"},
		{"4242:4343", "uid=4242 gid=4343 /"},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			t.Parallel()
			spec := sh(t, `echo $(id) $HOME; grep -E '^Cap(Prm|Eff):' /proc/self/status`)
			spec.Process.User = tt.user
			out := runOK(t, spec)
			lines := strings.Split(out, "\n")
			if lines[0] != tt.want {
				t.Errorf("got %q, want %q", lines[0], tt.want)
			}
			// As under Docker, a non-root process has no capabilities
			// left after execve.
			mustContain(t, out, "CapPrm:\t0000000000000000")
			mustContain(t, out, "CapEff:\t0000000000000000")
		})
	}
}

func TestUserErrors(t *testing.T) {
	for user, want := range map[string]string{
		"nosuch":     "unable to find user nosuch: no matching entries in passwd file",
		"app:nosuch": "unable to find group nosuch: no matching entries in group file",
		"4294967296": "uids and gids must be in range 0-2147483647",
		"-1":         "uids and gids must be in range 0-2147483647",
	} {
		t.Run(user, func(t *testing.T) {
			t.Parallel()
			spec := newSpec(t, "id")
			spec.Process.User = user
			_, err := tryStart(t, spec, Hooks{})
			if !errdefs.IsInvalidArgument(err) || err.Error() != want {
				t.Fatalf("Start: %v; want an invalid-argument error %q", err, want)
			}
		})
	}
}

func TestWorkingDirectory(t *testing.T) {
	spec := sh(t, "pwd; stat -c '%u:%g' . ../; touch file && echo writable")
	spec.Process.User = "app"
	spec.Process.Cwd = "/work/dir"
	out := runOK(t, spec)
	// Created, and owned by the user, as Docker does.
	equals("/work/dir\n1000:1000\n1000:1000\nwritable")(t, out)
	if _, err := os.Stat(filepath.Join(spec.Root.UpperDir, "work/dir/file")); err != nil {
		t.Errorf("the file is not in the container's upper layer: %v", err)
	}
}

func TestWorkingDirectoryErrors(t *testing.T) {
	for cwd, want := range map[string]string{
		"/etc/passwd/x": `chdir to cwd ("/etc/passwd/x"): open /etc/passwd/x: not a directory`,
		"/etc/passwd":   `chdir to cwd ("/etc/passwd"): open /etc/passwd: not a directory`,
		// CVE-2024-21626: a leaked descriptor as working directory.
		"/proc/self/fd/3": `chdir to cwd ("/proc/self/fd/3"): open /proc/self/fd/3: too many levels of symbolic links`,
	} {
		t.Run(cwd, func(t *testing.T) {
			spec := newSpec(t, "pwd")
			spec.Process.Cwd = cwd
			_, err := tryStart(t, spec, Hooks{})
			if !errdefs.IsInvalidArgument(err) || err.Error() != want {
				t.Fatalf("Start: %v; want an invalid-argument error %q", err, want)
			}
		})
	}
}

func TestCommandLookup(t *testing.T) {
	t.Run("PATH of the environment", func(t *testing.T) {
		spec := newSpec(t, "hello")
		spec.Process.Env = []string{"PATH=/opt/bin:/bin"}
		script := "#!/bin/sh\necho hello from $0 with PATH=$PATH\n"
		if err := os.MkdirAll(filepath.Join(spec.Root.UpperDir, "opt/bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(spec.Root.UpperDir, "opt/bin/hello"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		equals("hello from /opt/bin/hello with PATH=/opt/bin:/bin")(t, runOK(t, spec))
	})
	t.Run("default PATH", func(t *testing.T) {
		spec := sh(t, "echo $PATH")
		spec.Process.Env = nil
		equals(defaultPath)(t, runOK(t, spec))
	})
	errorTests := []struct {
		name   string
		args   []string
		is     func(error) bool
		want   string
		status int // the CLI's exit code for it
	}{
		{"not in PATH", []string{"nosuch"}, errdefs.IsNotFound, `exec: "nosuch": executable file not found in $PATH`, 127},
		{"missing path", []string{"/nosuch"}, errdefs.IsNotFound, `exec: "/nosuch": stat /nosuch: no such file or directory`, 127},
		{"directory", []string{"/etc"}, errdefs.IsPermissionDenied, `exec: "/etc": permission denied`, 126},
		{"not executable", []string{"/etc/passwd"}, errdefs.IsPermissionDenied, `exec: "/etc/passwd": permission denied`, 126},
	}
	for _, tt := range errorTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tryStart(t, newSpec(t, tt.args...), Hooks{})
			if !tt.is(err) || err.Error() != tt.want {
				t.Fatalf("Start: %v; want %q (exit %d)", err, tt.want, tt.status)
			}
		})
	}
}
