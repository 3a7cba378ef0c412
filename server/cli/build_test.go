package cli

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/docker/go-units"
)

// writeTree creates files (name → content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readTar returns a tar's entries: name → content ("" for directories),
// checking they are owned by root, without names.
func readTar(t *testing.T, archive []byte) map[string]string {
	t.Helper()
	entries := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return entries
		}
		if err != nil {
			t.Fatalf("reading the context: %v", err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s is owned by %d:%d (%q:%q), want 0:0 without names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		content, _ := io.ReadAll(tr)
		entries[h.Name] = string(content)
	}
}

func names(entries map[string]string) []string {
	var out []string
	for name := range entries {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// answerBuild makes the fake daemon answer /build with messages.
func answerBuild(d *fakeDaemon, messages ...string) {
	d.answerStream("POST /build", messages...)
}

var randomDockerfile = regexp.MustCompile(`^\.dockerfile\.[0-9a-f]{20}$`)

func TestBuildContext(t *testing.T) {
	project := map[string]string{
		"Dockerfile":         "FROM busybox\nCOPY . /app\n",
		"app.txt":            "hello\n",
		"secret.key":         "no\n",
		"tmp/scratch":        "no\n",
		"docs/keep.md":       "yes\n",
		"docs/other.md":      "no\n",
		"sub/Dockerfile.dev": "FROM busybox\n",
		".dockerignore":      "# the Dockerfile and .dockerignore are sent all the same\n*.key\ntmp\ndocs\n!docs/keep.md\nDockerfile\n.dockerignore\n",
	}
	tests := []struct {
		name       string
		args       []string // before the context
		stdin      string
		dockerfile string // the query parameter; a regexp
		want       []string
		check      func(t *testing.T, entries map[string]string, dockerfile string)
	}{
		{
			name:       ".dockerignore, never excluding the Dockerfile",
			dockerfile: "^Dockerfile$",
			want:       []string{".dockerignore", "Dockerfile", "app.txt", "docs/keep.md", "sub/", "sub/Dockerfile.dev"},
		},
		{
			name:       "-f inside the context",
			args:       []string{"-f", "CONTEXT/sub/Dockerfile.dev"},
			dockerfile: "^sub/Dockerfile.dev$",
			// Dockerfile, ignored, is no longer the Dockerfile.
			want: []string{".dockerignore", "app.txt", "docs/keep.md", "sub/", "sub/Dockerfile.dev"},
		},
		{
			name:       "-f outside the context",
			args:       []string{"-f", "OUTSIDE/Dockerfile.other"},
			dockerfile: randomDockerfile.String(),
			check: func(t *testing.T, entries map[string]string, dockerfile string) {
				if entries[dockerfile] != "FROM busybox\nRUN echo outside\n" {
					t.Errorf("the Dockerfile under %s holds %q", dockerfile, entries[dockerfile])
				}
				if ignore := entries[".dockerignore"]; !strings.HasSuffix(ignore, ".dockerignore\n\n"+dockerfile+"\n") {
					t.Errorf(".dockerignore does not list %s: %q", dockerfile, ignore)
				}
			},
		},
		{
			name:       "-f - reads the Dockerfile from stdin",
			args:       []string{"-f", "-"},
			stdin:      "FROM busybox\nRUN echo stdin\n",
			dockerfile: randomDockerfile.String(),
			check: func(t *testing.T, entries map[string]string, dockerfile string) {
				if entries[dockerfile] != "FROM busybox\nRUN echo stdin\n" {
					t.Errorf("the Dockerfile under %s holds %q", dockerfile, entries[dockerfile])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, outside := t.TempDir(), t.TempDir()
			writeTree(t, dir, project)
			writeTree(t, outside, map[string]string{"Dockerfile.other": "FROM busybox\nRUN echo outside\n"})
			d := newFakeDaemon(t)
			answerBuild(d, `{"aux":{"ID":"sha256:3f0a"}}`)
			cli := d.cli()
			cli.stdin = strings.NewReader(tt.stdin)
			var args []string
			for _, a := range tt.args {
				args = append(args, strings.NewReplacer("CONTEXT", dir, "OUTSIDE", outside).Replace(a))
			}

			res := cli.run(t, append(append([]string{"build"}, args...), dir)...)

			res.expectSuccess(t)
			req := d.lastRequest(t)
			entries := readTar(t, req.Body)
			dockerfile := url.Values(req.Query).Get("dockerfile")
			if !regexp.MustCompile(tt.dockerfile).MatchString(dockerfile) {
				t.Errorf("dockerfile=%q, want %s", dockerfile, tt.dockerfile)
			}
			if tt.want != nil && !slices.Equal(names(entries), tt.want) {
				t.Errorf("context holds %v, want %v", names(entries), tt.want)
			}
			if tt.check != nil {
				tt.check(t, entries, dockerfile)
			}
		})
	}
}

func TestBuildContextFromStdin(t *testing.T) {
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	if err := writeTarFile(tw, "Dockerfile", 0o644, []byte("FROM busybox\n")); err != nil {
		t.Fatal(err)
	}
	tw.Close()

	tests := []struct {
		name       string
		stdin      []byte
		dockerfile string
		check      func(t *testing.T, body []byte)
	}{
		{"a tar is sent as it is", archive.Bytes(), "", func(t *testing.T, body []byte) {
			if !bytes.Equal(body, archive.Bytes()) {
				t.Error("the tar was changed")
			}
		}},
		{"gzip is sent as it is", []byte{0x1f, 0x8b, 8, 0, 1, 2}, "", func(t *testing.T, body []byte) {
			if !bytes.Equal(body, []byte{0x1f, 0x8b, 8, 0, 1, 2}) {
				t.Error("the stream was changed")
			}
		}},
		{"a Dockerfile is sent alone", []byte("FROM busybox\nCMD [\"sh\"]\n"), "Dockerfile", func(t *testing.T, body []byte) {
			if entries := readTar(t, body); len(entries) != 1 || entries["Dockerfile"] != "FROM busybox\nCMD [\"sh\"]\n" {
				t.Errorf("context holds %v", entries)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			answerBuild(d, `{"aux":{"ID":"sha256:3f0a"}}`)
			cli := d.cli()
			cli.stdin = bytes.NewReader(tt.stdin)

			cli.run(t, "build", "-").expectSuccess(t)

			req := d.lastRequest(t)
			if got := url.Values(req.Query).Get("dockerfile"); got != tt.dockerfile {
				t.Errorf("dockerfile=%q, want %q", got, tt.dockerfile)
			}
			tt.check(t, req.Body)
		})
	}
}

func TestBuildQuery(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM busybox\n"})
	tests := []struct {
		name string
		args []string
		want map[string][]string // parameters besides dockerfile and version
	}{
		{"defaults", nil, map[string][]string{}},
		{"tags and build args", []string{"-t", "web:v1", "-t", "web:latest", "--build-arg", "A=1", "--build-arg", "FROM_ENV", "--build-arg", "UNSET"},
			map[string][]string{"t": {"web:v1", "web:latest"}, "buildargs": {`{"A":"1","FROM_ENV":"env value","UNSET":null}`}}},
		{"--rm=false, --force-rm, --no-cache, -q", []string{"--rm=false", "--force-rm", "--no-cache", "-q"},
			map[string][]string{"rm": {"0"}, "forcerm": {"1"}, "nocache": {"1"}, "q": {"1"}}},
		{"labels, target, platform, pull", []string{"--label", "a=b", "--label", "c", "--target", "base", "--platform", "linux/amd64", "--pull"},
			map[string][]string{"labels": {`{"a":"b","c":""}`}, "target": {"base"}, "platform": {"linux/amd64"}, "pull": {"1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			answerBuild(d, `{"stream":"sha256:3f0a\n"}`)

			d.cli().withEnv("FROM_ENV", "env value").run(t, append(append([]string{"build"}, tt.args...), dir)...).expectSuccess(t)

			req := d.lastRequest(t)
			got := map[string][]string{}
			for k, v := range req.Query {
				if k != "dockerfile" && k != "version" {
					got[k] = v
				}
			}
			if !jsonEqual(got, tt.want) {
				t.Errorf("query %v, want %v", got, tt.want)
			}
			if url.Values(req.Query).Get("version") != "1" || url.Values(req.Query).Get("dockerfile") != "Dockerfile" {
				t.Errorf("version=%q dockerfile=%q, want the classic builder and Dockerfile", url.Values(req.Query).Get("version"), url.Values(req.Query).Get("dockerfile"))
			}
			if req.Header.Get("Content-Type") != "application/x-tar" || req.Header.Get("X-Registry-Config") != "e30=" {
				t.Errorf("headers %v", req.Header)
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestBuildOutput(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM busybox\nRUN false\n"})
	steps := []string{
		`{"stream":"Step 1/2 : FROM busybox\n"}`,
		`{"stream":" ---\u003e 1c35c4412082\n"}`,
		`{"stream":"Step 2/2 : RUN echo hi\n"}`,
	}
	success := append(slices.Clone(steps), `{"stream":"Successfully built 3f0a1b2c3d4e\n"}`, `{"aux":{"ID":"sha256:3f0a1b2c3d4e"}}`)
	failure := append(slices.Clone(steps), `{"errorDetail":{"message":"The command '/bin/sh -c false' returned a non-zero code: 1"},"error":"The command '/bin/sh -c false' returned a non-zero code: 1"}`)
	const stepsOut = "Step 1/2 : FROM busybox\n ---> 1c35c4412082\nStep 2/2 : RUN echo hi\n"
	const sending = "Sending build context to Docker daemon  SIZE\r\r\n"

	tests := []struct {
		name     string
		args     []string
		messages []string
		code     int
		stdout   string
		stderr   string
	}{
		{"success", nil, success, 0, sending + stepsOut + "Successfully built 3f0a1b2c3d4e\n", ""},
		{"failure", nil, failure, 1, sending + stepsOut, "The command '/bin/sh -c false' returned a non-zero code: 1\n"},
		{"the daemon's exit code", nil, []string{`{"errorDetail":{"code":2,"message":"exit 2"}}`}, 2, sending, "exit 2\n"},
		{"quiet", []string{"-q"}, []string{`{"stream":"sha256:3f0a1b2c3d4e\n"}`}, 0, "sha256:3f0a1b2c3d4e\n", ""},
		{"quiet failure shows what was kept", []string{"-q"}, failure[3:], 1, "",
			sending + "The command '/bin/sh -c false' returned a non-zero code: 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			answerBuild(d, tt.messages...)

			res := d.cli().run(t, append(append([]string{"build"}, tt.args...), dir)...)

			size := units.HumanSize(float64(len(d.lastRequest(t).Body)))
			res.expectExit(t, tt.code, strings.ReplaceAll(tt.stderr, "SIZE", size))
			expectOutput(t, res.stdout, strings.ReplaceAll(tt.stdout, "SIZE", size))
		})
	}
}

func TestBuildIIDFile(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM busybox\n"})
	iidfile := filepath.Join(t.TempDir(), "iid")
	tests := []struct {
		name     string
		messages []string
		code     int
		stderr   string
		want     string // the file's content; "" for no file
	}{
		{"written", []string{`{"aux":{"ID":"sha256:3f0a"}}`}, 0, "", "sha256:3f0a"},
		{"no ID from the daemon", []string{`{"stream":"done\n"}`}, 1, "Server did not provide an image ID. Cannot write " + iidfile + "\n", ""},
		{"a failed build leaves none", []string{`{"errorDetail":{"message":"boom"}}`}, 1, "boom\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(iidfile, []byte("stale"), 0o644); err != nil {
				t.Fatal(err)
			}
			d := newFakeDaemon(t)
			answerBuild(d, tt.messages...)

			d.cli().run(t, "build", "--iidfile", iidfile, dir).expectExit(t, tt.code, tt.stderr)

			got, err := os.ReadFile(iidfile)
			if tt.want == "" && !os.IsNotExist(err) {
				t.Errorf("iidfile holds %q, want none", got)
			}
			if tt.want != "" && string(got) != tt.want {
				t.Errorf("iidfile holds %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	dir, empty := t.TempDir(), t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM busybox\n"})
	tests := []struct {
		name   string
		args   []string
		stderr string // a regexp
	}{
		{"no such directory", []string{"build", filepath.Join(dir, "nope")}, `^unable to prepare context: path ".*/nope" not found\n$`},
		{"no Dockerfile", []string{"build", empty}, `^unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat .*/Dockerfile: no such file or directory\n$`},
		{"stdin twice", []string{"build", "-f", "-", "-"}, `^invalid argument: can't use stdin for both build context and dockerfile\n$`},
		{"a URL", []string{"build", "https://example.com/app.git"}, `^unable to prepare context: remote contexts are not supported`},
		{"no context", []string{"build"}, `requires 1 argument`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			res := d.cli().run(t, tt.args...)
			if res.code == 0 || !regexp.MustCompile(tt.stderr).MatchString(res.stderr) {
				t.Errorf("exit %d, stderr %q, want %s", res.code, res.stderr, tt.stderr)
			}
			if len(d.received()) != 0 {
				t.Error("the daemon was called")
			}
		})
	}
}

func TestBuildDaemonRefusal(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FORM busybox\n"})
	d := newFakeDaemon(t)
	d.answerError("POST /build", http.StatusBadRequest, "dockerfile parse error on line 1: unknown instruction: FORM")

	d.cli().run(t, "image", "build", dir).expectExit(t, 1, "Error response from daemon: dockerfile parse error on line 1: unknown instruction: FORM\n")
}
