package cli

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const archive = "pretend this is a tar archive"

func TestSaveRefusesATerminal(t *testing.T) {
	d := newFakeDaemon(t)
	cli := d.cli()
	cli.stdoutIsTerminal = true

	res := cli.run(t, "save", "busybox")

	res.expectExit(t, 1, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n")
	if n := len(d.received()); n != 0 {
		t.Errorf("daemon got %d requests, want none", n)
	}
}

func TestSaveToStdout(t *testing.T) {
	d := newFakeDaemon(t)
	d.handle("GET /images/get", serveArchive)

	res := d.cli().run(t, "save", "busybox", "myapp:v1")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, archive)
	if names := d.lastRequest(t).Query["names"]; strings.Join(names, ",") != "busybox,myapp:v1" {
		t.Errorf("names = %v, want both images", names)
	}
}

func TestSaveToFile(t *testing.T) {
	d := newFakeDaemon(t)
	d.handle("GET /images/get", serveArchive)
	dir := t.TempDir()
	output := filepath.Join(dir, "images.tar")
	if err := os.WriteFile(output, []byte("previous content"), 0o644); err != nil {
		t.Fatal(err)
	}

	res := d.cli().run(t, "image", "save", "-o", output, "busybox")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, "")
	got, err := os.ReadFile(output)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != archive {
		t.Errorf("saved %q, want %q", got, archive)
	}
	if info, _ := os.Stat(output); info.Mode().Perm() != savedArchiveMode {
		t.Errorf("mode = %v, want %v", info.Mode().Perm(), os.FileMode(savedArchiveMode))
	}
	expectDirEntries(t, dir, "images.tar")
}

func TestFailedSaveLeavesNoFile(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		stderr  string
	}{
		{
			name: "daemon error",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				writeJSON(w, http.StatusNotFound, map[string]string{"message": "No such image: nope:latest"})
			},
			stderr: "Error response from daemon: No such image: nope:latest\n",
		},
		{
			name: "archive cut short",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/x-tar")
				w.Header().Set("Content-Length", "1000000")
				_, _ = io.WriteString(w, archive)
			},
			stderr: "receiving the image archive: unexpected EOF\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			d.handle("GET /images/get", tt.handler)
			dir := t.TempDir()

			res := d.cli().run(t, "save", "-o", filepath.Join(dir, "out.tar"), "nope")

			res.expectExit(t, 1, tt.stderr)
			expectDirEntries(t, dir)
		})
	}
}

func TestSaveIntoMissingDirectory(t *testing.T) {
	d := newFakeDaemon(t)
	output := filepath.Join(t.TempDir(), "missing", "out.tar")

	res := d.cli().run(t, "save", "-o", output, "busybox")

	if res.code != 1 || !strings.HasPrefix(res.stderr, "failed to save image: invalid output path: ") {
		t.Errorf("exit %d, stderr %q; want an invalid output path error", res.code, res.stderr)
	}
	if n := len(d.received()); n != 0 {
		t.Errorf("daemon got %d requests, want none", n)
	}
}

func serveArchive(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/x-tar")
	_, _ = io.WriteString(w, archive)
}

// expectDirEntries checks that dir holds exactly the named files.
func expectDirEntries(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, entry := range entries {
		got = append(got, entry.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("%s holds %v, want %v", dir, got, names)
	}
}

const loadedStream = `{"stream":"Loaded image: busybox:latest\n"}`

func TestLoad(t *testing.T) {
	input := filepath.Join(t.TempDir(), "in.tar")
	if err := os.WriteFile(input, []byte(archive), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		args             []string
		stdin            string
		stdoutIsTerminal bool
		wantQuiet        string
	}{
		{name: "from file", args: []string{"-i", input}, wantQuiet: "1"},
		{name: "from stdin", stdin: archive, wantQuiet: "1"},
		{name: "on a terminal", stdin: archive, stdoutIsTerminal: true, wantQuiet: "0"},
		{name: "quiet on a terminal", args: []string{"-q"}, stdin: archive, stdoutIsTerminal: true, wantQuiet: "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			d.answerStream("POST /images/load",
				`{"status":"Loading layer","progressDetail":{"current":512,"total":1024},"id":"abc"}`,
				loadedStream,
				`{"stream":"Loaded image ID: `+sha("5")+`\n"}`,
			)
			cli := d.cli()
			cli.stdin = strings.NewReader(tt.stdin)
			cli.stdoutIsTerminal = tt.stdoutIsTerminal

			res := cli.run(t, append([]string{"load"}, tt.args...)...)

			res.expectSuccess(t)
			expectOutput(t, res.stdout, "Loaded image: busybox:latest\nLoaded image ID: "+sha("5")+"\n")
			request := d.lastRequest(t)
			if string(request.Body) != archive {
				t.Errorf("sent %q, want the archive", request.Body)
			}
			if got := first(request.Query["quiet"]); got != tt.wantQuiet {
				t.Errorf("quiet = %q, want %q", got, tt.wantQuiet)
			}
		})
	}
}

func TestLoadRefusesATerminalStdin(t *testing.T) {
	d := newFakeDaemon(t)
	cli := d.cli()
	cli.stdinIsTerminal = true

	cli.run(t, "load").expectExit(t, 1, "requested load from stdin, but stdin is empty\n")
	if n := len(d.received()); n != 0 {
		t.Errorf("daemon got %d requests, want none", n)
	}
}

func TestLoadReportsStreamErrors(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerStream("POST /images/load",
		`{"errorDetail":{"message":"unexpected EOF in archive"},"error":"unexpected EOF in archive"}`)

	res := d.cli().run(t, "load", "-i", os.DevNull)

	res.expectExit(t, 1, "unexpected EOF in archive\n")
}

func TestLoadMissingInputFile(t *testing.T) {
	res := testCLI{}.run(t, "load", "-i", "/nonexistent/in.tar")
	res.expectExit(t, 1, "open /nonexistent/in.tar: no such file or directory\n")
}

func TestImport(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(file, []byte(archive), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		args        []string
		stdin       string
		wantFromSrc string
		wantBody    string
		wantRepo    string
		wantTag     string
	}{
		{name: "file", args: []string{file}, wantFromSrc: "-", wantBody: archive},
		{name: "stdin with a name", args: []string{"-", "myimg:1"}, stdin: archive, wantFromSrc: "-", wantBody: archive, wantRepo: "myimg:1"},
		{name: "url", args: []string{"https://example.com/rootfs.tar"}, wantFromSrc: "https://example.com/rootfs.tar"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			d.answerStream("POST /images/create", `{"status":"`+sha("9")+`"}`)
			cli := d.cli()
			cli.stdin = strings.NewReader(tt.stdin)

			res := cli.run(t, append([]string{"import", "-c", `CMD ["sh", "-c", "x"]`, "-c", "ENV A=1", "-m", "hi"}, tt.args...)...)

			res.expectSuccess(t)
			expectOutput(t, res.stdout, sha("9")+"\n")
			request := d.lastRequest(t)
			if got := first(request.Query["fromSrc"]); got != tt.wantFromSrc {
				t.Errorf("fromSrc = %q, want %q", got, tt.wantFromSrc)
			}
			if string(request.Body) != tt.wantBody {
				t.Errorf("body = %q, want %q", request.Body, tt.wantBody)
			}
			if got := first(request.Query["repo"]); got != tt.wantRepo {
				t.Errorf("repo = %q, want %q", got, tt.wantRepo)
			}
			if got := strings.Join(request.Query["changes"], "|"); got != `CMD ["sh", "-c", "x"]|ENV A=1` {
				t.Errorf("changes = %q", got)
			}
			if got := first(request.Query["message"]); got != "hi" {
				t.Errorf("message = %q, want hi", got)
			}
		})
	}
}

func TestPrintJSONMessages(t *testing.T) {
	tests := []struct {
		name    string
		stream  string
		want    string
		wantErr string
	}{
		{
			name:   "status with id",
			stream: `{"status":"Pulling fs layer","id":"abc"}{"status":"Done"}`,
			want:   "abc: Pulling fs layer\nDone\n",
		},
		{
			name:   "progress updates are skipped",
			stream: `{"status":"Loading","progressDetail":{"current":1,"total":2},"id":"abc"}{"stream":"ok\n"}`,
			want:   "ok\n",
		},
		{
			name:   "aux messages are skipped",
			stream: `{"aux":{"ID":"x"}}{"stream":"ok\n"}`,
			want:   "ok\n",
		},
		{
			name:    "error ends the stream",
			stream:  `{"stream":"before\n"}{"errorDetail":{"message":"boom"}}{"stream":"after\n"}`,
			want:    "before\n",
			wantErr: "boom",
		},
		{
			name:    "garbage",
			stream:  `not json`,
			wantErr: "reading the daemon's progress stream: invalid character 'o' in literal null (expecting 'u')",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := printJSONMessages(strings.NewReader(tt.stream), &out)
			expectOutput(t, out.String(), tt.want)
			if got := errorString(err); got != tt.wantErr {
				t.Errorf("error = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

func errorString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
