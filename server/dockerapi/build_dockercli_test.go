package dockerapi

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/server/internal/apitest"
)

// dockerCLI returns a command running the docker CLI's legacy builder
// against srv, skipping the test when docker is not installed.
func dockerCLI(t *testing.T, srv *httptest.Server, args ...string) *exec.Cmd {
	t.Helper()
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("the docker CLI is not installed")
	}
	cmd := exec.Command(docker, args...)
	cmd.Env = append(os.Environ(),
		"DOCKER_HOST=tcp://"+srv.Listener.Addr().String(),
		"DOCKER_BUILDKIT=0",
		"DOCKER_CONFIG="+t.TempDir(),
		"DOCKER_CONTEXT=",
	)
	return cmd
}

var versionPath = regexp.MustCompile(`^/v[0-9.]+(/.*)$`)

// serveBuildsToDocker serves the build routes with what the docker CLI
// needs around them: /_ping and versioned paths.
func serveBuildsToDocker(t *testing.T, f *apitest.Builds) *httptest.Server {
	t.Helper()
	e := apitest.NewEcho()
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if m := versionPath.FindStringSubmatch(c.Request().URL.Path); m != nil {
				c.Request().URL.Path = m[1]
			}
			c.Response().Header().Set("Api-Version", MaxAPIVersion)
			c.Response().Header().Set("Ostype", "linux")
			return next(c)
		}
	})
	ping := func(c echo.Context) error { return c.String(http.StatusOK, "OK") }
	e.GET("/_ping", ping)
	e.HEAD("/_ping", ping)
	(&buildRoutes{b: f}).register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

func TestDockerCLIBuild(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile":    "FROM busybox\nCOPY . /app\n",
		"app.txt":       "hello\n",
		"secret.key":    "no\n",
		".dockerignore": "*.key\n",
	})
	iidfile := filepath.Join(t.TempDir(), "iid")

	tests := []struct {
		name     string
		log      []engine.BuildMessage
		args     []string
		exitCode int
		stdout   string // a regexp
		stderr   string
	}{
		{
			name: "success",
			log: []engine.BuildMessage{
				{Stream: "Step 1/2 : FROM busybox\n"},
				{Stream: "Successfully built 3f0a1b2c3d4e\n"},
				{Stream: "Successfully tagged x:v1\n"},
				{ImageID: "sha256:3f0a1b2c3d4e"},
			},
			args:   []string{"-t", "x:v1", "--build-arg", "A=1", "--iidfile", iidfile},
			stdout: `^Sending build context to Docker daemon +[0-9.]+kB\r\r\nStep 1/2 : FROM busybox\nSuccessfully built 3f0a1b2c3d4e\nSuccessfully tagged x:v1\n$`,
		},
		{
			name: "failure",
			log: []engine.BuildMessage{
				{Stream: "Step 1/2 : FROM busybox\n"},
				{Error: "The command '/bin/sh -c false' returned a non-zero code: 1"},
			},
			exitCode: 1,
			stdout:   `Step 1/2 : FROM busybox\n$`,
			stderr:   `The command '/bin/sh -c false' returned a non-zero code: 1\n$`,
		},
		{
			name:   "quiet",
			log:    []engine.BuildMessage{{Stream: "Step 1/2 : FROM busybox\n"}, {ImageID: "sha256:3f0a1b2c3d4e"}},
			args:   []string{"-q"},
			stdout: `^sha256:3f0a1b2c3d4e\n$`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := apitest.NewBuilds()
			f.Log = tt.log
			srv := serveBuildsToDocker(t, f)
			cmd := dockerCLI(t, srv, append(append([]string{"build"}, tt.args...), dir)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			switch {
			case err == nil && tt.exitCode == 0:
			case errors.As(err, &exit) && exit.ExitCode() == tt.exitCode:
			default:
				t.Fatalf("docker build: %v, want exit code %d\nstdout %q\nstderr %q", err, tt.exitCode, stdout.String(), stderr.String())
			}
			if !regexp.MustCompile(tt.stdout).Match(stdout.Bytes()) {
				t.Errorf("stdout %q, want %s", stdout.String(), tt.stdout)
			}
			if !regexp.MustCompile(tt.stderr).Match(stderr.Bytes()) {
				t.Errorf("stderr %q, want %s", stderr.String(), tt.stderr)
			}

			b := f.Started()
			if names := tarNames(t, b.Context); !slices.Equal(names, []string{".dockerignore", "Dockerfile", "app.txt"}) {
				t.Errorf("context holds %v", names)
			}
			if tt.name == "success" {
				if !slices.Equal(b.Opts.Tags, []string{"x:v1"}) || b.Opts.BuildArgs["A"] == nil || *b.Opts.BuildArgs["A"] != "1" || !b.Opts.Remove {
					t.Errorf("options %+v", b.Opts)
				}
				if iid, _ := os.ReadFile(iidfile); string(iid) != "sha256:3f0a1b2c3d4e" {
					t.Errorf("iidfile holds %q", iid)
				}
			}
		})
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
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

// tarNames lists a tar's entries, sorted.
func tarNames(t *testing.T, archive []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the context: %v", err)
		}
		names = append(names, strings.TrimSuffix(h.Name, "/"))
	}
	slices.Sort(names)
	return names
}
