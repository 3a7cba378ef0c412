package main

// The container's process as a user configures it: the image's Entrypoint
// and Cmd overridden by run's arguments as Docker does, -e, --env-file, -w,
// -u uid:gid and -u name, -h.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestProcessConfig(t *testing.T) {
	d := withBusybox(t)
	t.Cleanup(func() { checkNoLeftovers(t, d) })
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		return mustSucceed(t, "docker run", d.docker(append([]string{"run", "--rm"}, args...)...))
	}

	t.Run("run's arguments override the image's Entrypoint and Cmd as Docker does", func(t *testing.T) {
		t.Parallel()
		d.importImage(t, "entry:v1", nil, `ENTRYPOINT ["/bin/echo","pre"]`, `CMD ["default"]`)
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"entry:v1"}, "pre default\n"},
			{[]string{"entry:v1", "x"}, "pre x\n"},
			{[]string{"entry:v1", "x", "y z"}, "pre x y z\n"},
			{[]string{"--entrypoint", "/bin/sh", "entry:v1", "-c", "echo y"}, "y\n"},
			// An --entrypoint drops the image's Cmd.
			{[]string{"--entrypoint", "/bin/echo", "entry:v1"}, "\n"},
		} {
			if got := run(t, tc.args...); got != tc.want {
				t.Errorf("docker run %s printed %q, want %q", strings.Join(tc.args, " "), got, tc.want)
			}
		}
		if got := inspect(t, d, "{{json .Config.Entrypoint}} {{json .Config.Cmd}}", "entry:v1"); got != `["/bin/echo","pre"] ["default"]` {
			t.Errorf("the image's config: %s", got)
		}
	})

	t.Run("a shell-form CMD runs through /bin/sh -c", func(t *testing.T) {
		t.Parallel()
		d.importImage(t, "shellform:v1", nil, `CMD echo "$HOME" from a shell`)
		if got := run(t, "shellform:v1"); got != "/root from a shell\n" {
			t.Errorf("docker run of a shell-form CMD printed %q", got)
		}
	})

	t.Run("-e and --env-file set the environment over the image's", func(t *testing.T) {
		t.Parallel()
		d.importImage(t, "withenv:v1", nil, "ENV FROM_IMAGE=image OVERRIDDEN=image")
		envFile := filepath.Join(t.TempDir(), "env")
		os.WriteFile(envFile, []byte("# a comment\n\nA=1\nB=two words\nC= spaced \n"), 0o644)
		got := run(t, "-e", "OVERRIDDEN=cli", "-e", "X=1", "--env-file", envFile, "withenv:v1", "sh", "-c",
			`echo "$FROM_IMAGE|$OVERRIDDEN|$X|$A|$B|$C|$HOSTNAME|$PATH"`)
		want := "image|cli|1|1|two words| spaced |"
		if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n") {
			t.Errorf("environment: %q, want it to start with %q and end with the default PATH", got, want)
		}
	})

	t.Run("-w sets the working directory, created if missing", func(t *testing.T) {
		t.Parallel()
		if got := run(t, "-w", "/new/dir", "busybox", "sh", "-c", "pwd; stat -c '%F %a' ."); got != "/new/dir\ndirectory 755\n" {
			t.Errorf("with -w /new/dir: %q", got)
		}
		if got := run(t, "-w", "/etc", "busybox", "pwd"); got != "/etc\n" {
			t.Errorf("with -w /etc: %q", got)
		}
	})

	t.Run("-u uid:gid and -u name from the image's /etc/passwd", func(t *testing.T) {
		t.Parallel()
		if got := run(t, "-u", "1000:1000", "busybox", "sh", "-c", "id -u; id -g; id -un"); got != "1000\n1000\napp\n" {
			t.Errorf("-u 1000:1000: %q", got)
		}
		if got := run(t, "-u", "app", "busybox", "sh", "-c", `id -u; id -g; echo "$HOME"; touch /root/x 2>/dev/null || echo denied`); got != "1000\n1000\n/home/app\ndenied\n" {
			t.Errorf("-u app: %q", got)
		}
		if got := run(t, "-u", "app:root", "busybox", "sh", "-c", "id -u; id -g"); got != "1000\n0\n" {
			t.Errorf("-u app:root: %q", got)
		}
		if got := run(t, "-u", "4321", "busybox", "sh", "-c", "id -u; id -g; echo $HOME"); got != "4321\n0\n/\n" {
			t.Errorf("-u 4321 (not in /etc/passwd): %q", got)
		}
	})

	t.Run("docker exec exits with the process's exit code, every time", func(t *testing.T) {
		t.Parallel()
		id := strings.TrimSpace(mustSucceed(t, "run -d", d.docker("run", "-d", "busybox", "sleep", "1000")))
		defer d.docker("rm", "-f", id)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code := 1 + i%7
				if r := d.docker("exec", id, "sh", "-c", "echo out; exit "+strconv.Itoa(code)); r.code != code || r.stdout != "out\n" {
					t.Errorf("docker exec ... exit %d: exit %d, stdout %q", code, r.code, r.stdout)
				}
			}()
		}
		wg.Wait()
	})

	t.Run("-h sets the hostname", func(t *testing.T) {
		t.Parallel()
		got := run(t, "-h", "myhost", "busybox", "sh", "-c", "hostname; cat /etc/hostname; echo $HOSTNAME; grep -c myhost /etc/hosts")
		if got != "myhost\nmyhost\nmyhost\n1\n" {
			t.Errorf("with -h myhost: %q", got)
		}
	})
}

// An exec'd process belongs to the container: same cgroups (so its limits
// and the freezer hold it) as the container's PID 1.
func TestExecJoinsTheContainersCgroup(t *testing.T) {
	d := withBusybox(t)
	mustSucceed(t, "run -d", d.docker("run", "-d", "--name", "limited", "-m", "64m", "busybox", "sleep", "600"))
	got := mustSucceed(t, "exec", d.docker("exec", "limited", "cat", "/proc/self/cgroup"))
	want := mustSucceed(t, "exec", d.docker("exec", "limited", "cat", "/proc/1/cgroup"))
	if got != want || !strings.Contains(got, "/skiff/") {
		t.Errorf("exec'd process cgroups:\n%s\ncontainer's PID 1:\n%s", got, want)
	}
}
