package runtime

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// readTerminal reads a pty master until the slave side is gone.
func readTerminal(master *os.File) <-chan string {
	out := make(chan string, 1)
	go func() {
		var b bytes.Buffer
		io.Copy(&b, master) // ends with EIO once the last slave is closed
		out <- strings.ReplaceAll(b.String(), "\r\n", "\n")
	}()
	return out
}

// Console mode: the runtime allocates the pty in the container's own
// /dev/pts, so the process sees what it sees under docker run -t.
func TestTerminalConsole(t *testing.T) {
	spec := sh(t, `tty; [ -t 0 ] && [ -t 1 ] && echo is-a-tty; stat -c '%U %g %a' $(tty); ls -1 /dev/pts; ps -o pid,tty,comm | grep sh; stat -c '%t:%T' /dev/console`)
	spec.Process.Terminal = true
	spec.Process.User = "app"
	task, err := Start(testContext(t), spec, Stdio{}, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if task.Console() == nil {
		t.Fatal("no console")
	}
	defer task.Console().Close()
	out := readTerminal(task.Console())
	st, err := task.Wait()
	if err != nil || st.Code != 0 {
		t.Fatalf("Wait: %+v, %v", st, err)
	}
	got := <-out
	for _, want := range []string{
		"/dev/pts/0\n",
		"is-a-tty\n",
		"app 5 620\n", // the user owns its terminal; group tty, as devpts' gid=5,mode=620
		"0\nptmx\n",
		"1 136,0  sh", // the session's controlling terminal
		"88:0\n",      // /dev/console is pts 0 (136:0)
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// The monitor's own pty (a slave of the host's devpts) as stdio: it is the
// process's controlling terminal. Its name cannot be resolved inside the
// container (glibc's ttyname checks /dev/pts/N there and finds another
// devpts instance), which is why console mode exists.
func TestTerminalHostPty(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	spec := sh(t, `[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo is-a-tty; stty size; tty; cat /proc/self/stat | cut -d' ' -f7`)
	spec.Process.Terminal = true
	if err := pty.Setsize(master, &pty.Winsize{Rows: 42, Cols: 99}); err != nil {
		t.Fatal(err)
	}
	task, err := Start(testContext(t), spec, Stdio{Stdin: slave, Stdout: slave, Stderr: slave}, Hooks{})
	slave.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := readTerminal(master)
	if st, err := task.Wait(); err != nil || st.Code != 0 {
		t.Fatalf("Wait: %+v, %v", st, err)
	}
	got := <-out
	var st unix.Stat_t
	if err := unix.Stat(slave.Name(), &st); err != nil {
		t.Fatal(err)
	}
	// The controlling terminal (tty_nr in /proc/self/stat) is the slave.
	major, minor := unix.Major(st.Rdev), unix.Minor(st.Rdev)
	ttyNr := minor&0xff | major<<8 | (minor&^0xff)<<12
	for _, want := range []string{"is-a-tty\n", "42 99\n", "not a tty\n", fmt.Sprintf("%d\n", ttyNr)} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// In console mode the pty is sized before the process starts: a process
// that asks for its size first thing never sees 0x0, although the parent
// gets the master only once it runs.
func TestTerminalConsoleSize(t *testing.T) {
	spec := newSpec(t, "stty", "size") // stty is PID 1
	spec.Process.Terminal = true
	spec.ConsoleSize = [2]uint16{40, 120}
	for i := range 20 {
		task, err := Start(testContext(t), spec, Stdio{}, Hooks{})
		if err != nil {
			t.Fatal(err)
		}
		out := readTerminal(task.Console())
		st, err := task.Wait()
		if err != nil || st.Code != 0 {
			t.Fatalf("run %d: Wait: %+v, %v", i, st, err)
		}
		got := <-out
		task.Console().Close()
		if got != "40 120\n" {
			t.Fatalf("run %d: stty size printed %q, want \"40 120\\n\"", i, got)
		}
	}
}
