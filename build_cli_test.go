package main

// Builds from skiff's CLI and from the docker CLI's legacy builder, through
// POST /build, with the output docker prints; the build records and logs
// of /skiff/builds.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dockerBuild runs `DOCKER_BUILDKIT=0 docker build args...` against d.
func (d *skiffd) dockerBuild(t *testing.T, args ...string) result {
	t.Helper()
	env := []string{
		"DOCKER_HOST=unix://" + d.socket,
		"DOCKER_CONFIG=" + filepath.Join(d.workDir, "docker-config"),
		"DOCKER_BUILDKIT=0",
	}
	return run(t, env, nil, "docker", append([]string{"build"}, args...)...)
}

func writeDockerfile(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

var builtID = regexp.MustCompile(`(?m)^Successfully built ([0-9a-f]{12})$`)

func TestBuildFromBothCLIs(t *testing.T) {
	d := withBusybox(t)
	dir := writeDockerfile(t, "FROM busybox\n"+
		"ENV GREETING=hello\n"+
		"RUN echo \"$GREETING from the build\" > /greeting && cat /greeting\n"+
		"CMD [\"cat\", \"/greeting\"]\n")

	out := mustSucceed(t, "skiff build", d.skiff("build", "-t", "greeter:skiff", dir))
	if !regexp.MustCompile(`^Sending build context to Docker daemon +\S+\r\r\nStep 1/4 : FROM busybox\n`).MatchString(out) ||
		!strings.Contains(out, "hello from the build\n") ||
		!strings.HasSuffix(out, "Successfully tagged greeter:skiff\n") {
		t.Errorf("skiff build printed:\n%s", out)
	}
	m := builtID.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("skiff build printed no image ID:\n%s", out)
	}
	if got := mustSucceed(t, "run", d.skiff("run", "--rm", "greeter:skiff")); got != "hello from the build\n" {
		t.Errorf("the built image printed %q", got)
	}

	t.Run("docker build reuses the steps from the cache", func(t *testing.T) {
		out := mustSucceed(t, "docker build", d.dockerBuild(t, "-t", "greeter:docker", dir))
		if strings.Count(out, " ---> Using cache\n") != 3 || !strings.HasSuffix(out, "Successfully tagged greeter:docker\n") {
			t.Errorf("docker build printed:\n%s", out)
		}
		if again := builtID.FindStringSubmatch(out); again == nil || again[1] != m[1] {
			t.Errorf("docker build made another image than %s:\n%s", m[1], out)
		}
	})

	t.Run("quiet builds print the ID only", func(t *testing.T) {
		skiffID := mustSucceed(t, "skiff build -q", d.skiff("build", "-q", dir))
		dockerID := mustSucceed(t, "docker build -q", d.dockerBuild(t, "-q", dir))
		if !strings.HasPrefix(skiffID, "sha256:"+m[1]) || skiffID != dockerID {
			t.Errorf("skiff build -q printed %q, docker build -q %q", skiffID, dockerID)
		}
	})

	t.Run("builds lists them and replays their logs", func(t *testing.T) {
		list := mustSucceed(t, "skiff builds", d.skiff("builds"))
		if strings.Count(list, " succeeded ") != 4 || !strings.Contains(list, "greeter:skiff") {
			t.Errorf("skiff builds:\n%s", list)
		}
		ids := strings.Fields(mustSucceed(t, "skiff builds -q", d.skiff("builds", "-q")))
		first := ids[len(ids)-1] // newest first
		log := mustSucceed(t, "skiff builds logs", d.skiff("builds", "logs", first))
		if want := out[strings.Index(out, "Step 1/4"):]; log != want {
			t.Errorf("skiff builds logs printed:\n%s\nwant what skiff build printed:\n%s", log, want)
		}
	})
}

func TestFailedBuildFromBothCLIs(t *testing.T) {
	d := withBusybox(t)
	dir := writeDockerfile(t, "FROM busybox\nRUN echo before && false\n")
	// Docker's words, and the line of the Dockerfile.
	const failure = "The command '/bin/sh -c echo before && false' returned a non-zero code: 1 (Dockerfile line 2)\n"

	for name, res := range map[string]result{
		"skiff":  d.skiff("build", dir),
		"docker": d.dockerBuild(t, dir),
	} {
		if res.code != 1 || !strings.HasSuffix(res.stderr, failure) || !strings.Contains(res.stdout, "before\n") {
			t.Errorf("%s build: exit %d\nstdout:\n%s\nstderr:\n%s", name, res.code, res.stdout, res.stderr)
		}
	}
	if list := mustSucceed(t, "skiff builds", d.skiff("builds")); strings.Count(list, " failed ") != 2 {
		t.Errorf("skiff builds:\n%s", list)
	}
}
