package main

// The examples of Dockerfile-examples/, built by a test daemon. Those that
// need no internet are built and run. The others start from registry
// images (golang, python), which skiff cannot pull yet and a test may not
// download: their builds are run up to their first FROM, which fails.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/engine/testimage"
)

const examples = "Dockerfile-examples"

// TestExamplesAreDocumented keeps the examples listed and their Dockerfiles
// saying how to build and run them, and every example under a test here.
func TestExamplesAreDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(examples, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(examples)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dirs = append(dirs, e.Name())
		if !bytes.Contains(readme, []byte("`"+e.Name()+"/`")) {
			t.Errorf("%s/README.md does not describe %s/", examples, e.Name())
		}
		df, err := os.ReadFile(filepath.Join(examples, e.Name(), "Dockerfile"))
		if err != nil {
			t.Error(err)
			continue
		}
		if !regexp.MustCompile(`(?m)^#\s+build: skiff build -t \S+ .*`+e.Name()).Match(df) || !regexp.MustCompile(`(?m)^#\s+run: +skiff run `).Match(df) {
			t.Errorf("%s/Dockerfile does not open with how to build and run it", e.Name())
		}
	}
	// Built and run below, or built up to their registry base image.
	tested := []string{"go-multistage", "python-app", "static-site", "tomcat"}
	if !slices.Equal(dirs, tested) {
		t.Errorf("the examples are %v; the tests here cover %v", dirs, tested)
	}
}

func TestExampleStaticSite(t *testing.T) {
	d := withBusybox(t)
	out := mustSucceed(t, "build", d.skiff("build", "-t", "static-site", filepath.Join(examples, "static-site")))
	if !strings.HasSuffix(out, "Successfully tagged static-site:latest\n") {
		t.Fatalf("skiff build printed:\n%s", out)
	}
	// Without -p (the networking issue), the site is reached from inside
	// the container, as httpd serves it on the container's port 80.
	id := strings.TrimSpace(mustSucceed(t, "run -d", d.skiff("run", "-d", "static-site")))
	var page string
	waitFor(t, "httpd serves the page", func() bool {
		r := d.skiff("exec", id, "wget", "-qO-", "http://127.0.0.1:80/")
		page = r.stdout
		return r.code == 0
	})
	want, err := os.ReadFile(filepath.Join(examples, "static-site", "site", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if page != string(want) {
		t.Errorf("httpd served:\n%s\nwant site/index.html:\n%s", page, want)
	}
	if r := d.skiff("exec", id, "wget", "-qO-", "http://127.0.0.1/style.css"); r.code != 0 || !strings.Contains(r.stdout, "font-family") {
		t.Errorf("GET /style.css: exit %d, %q", r.code, r.stdout)
	}
	// -v logs each request to the container's log.
	if logs := d.skiff("logs", id); !strings.Contains(logs.stderr, "response:200") {
		t.Errorf("logs show no request:\nstdout: %s\nstderr: %s", logs.stdout, logs.stderr)
	}
}

// TestExampleTomcat builds the tomcat example's Dockerfile, unchanged, from
// both CLIs, over stand-ins for what a user downloads: debian:bookworm-slim
// is the busybox image with Debian's PATH, and the JDK and Tomcat tarballs
// hold only what the Dockerfile and its ENTRYPOINT use, under the names and
// top-level directories the real ones have.
func TestExampleTomcat(t *testing.T) {
	d := withBusybox(t)
	d.importImage(t, "debian:bookworm-slim", nil, "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")

	dockerfile, err := os.ReadFile(filepath.Join(examples, "tomcat", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	arg := func(name string) string {
		m := regexp.MustCompile(`(?m)^ARG ` + name + `=(\S+)$`).FindSubmatch(dockerfile)
		if m == nil {
			t.Fatalf("the tomcat Dockerfile has no ARG %s with a default", name)
		}
		return string(m[1])
	}
	jdkDir, tomcatDir := arg("JDK_DIR"), "apache-tomcat-"+arg("TOMCAT_VERSION")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), dockerfile, 0o644); err != nil {
		t.Fatal(err)
	}
	writeTarGz(t, filepath.Join(dir, arg("JDK_TARBALL")), map[string]string{
		jdkDir + "/":         "",
		jdkDir + "/bin/":     "",
		jdkDir + "/bin/java": "#!/bin/sh\necho 'openjdk version \"21\" (a stand-in)'\n",
	})
	writeTarGz(t, filepath.Join(dir, tomcatDir+".tar.gz"), map[string]string{
		// As Tomcat's: creates the log, starts the server in the background
		// and returns; the server logs once it is up.
		tomcatDir + "/":     "",
		tomcatDir + "/bin/": "",
		tomcatDir + "/bin/startup.sh": `#!/bin/sh
logs=$(dirname "$0")/../logs
touch "$logs/catalina.out"
{ sleep 0.2; echo "Server startup (a stand-in) with JAVA_HOME=$JAVA_HOME"; java -version; } >>"$logs/catalina.out" 2>&1 &
echo "Tomcat started."
`,
		tomcatDir + "/logs/": "",
	})

	out := mustSucceed(t, "skiff build", d.skiff("build", "-t", "tomcat", "--rm=true", dir))
	if strings.Contains(out, "Using cache") || !strings.HasSuffix(out, "Successfully tagged tomcat:latest\n") {
		t.Errorf("skiff build printed:\n%s", out)
	}
	id := builtID.FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("skiff build printed no image ID:\n%s", out)
	}
	t.Run("docker build reuses every step", func(t *testing.T) {
		out := mustSucceed(t, "docker build", d.dockerBuild(t, "-t", "tomcat", "--rm=true", dir))
		if again := builtID.FindStringSubmatch(out); again == nil || again[1] != id[1] || strings.Count(out, " ---> Using cache\n") != 10 {
			t.Errorf("docker build printed:\n%s\nwant every step after FROM from the cache, image %s", out, id[1])
		}
	})
	t.Run("docker build --no-cache", func(t *testing.T) {
		out := mustSucceed(t, "docker build", d.dockerBuild(t, "-t", "tomcat:docker", "--rm=true", "--no-cache", dir))
		if strings.Contains(out, "Using cache") || !strings.HasSuffix(out, "Successfully tagged tomcat:docker\n") {
			t.Errorf("docker build --no-cache printed:\n%s", out)
		}
	})

	for _, image := range []string{"tomcat", "tomcat:docker"} {
		t.Run("run "+image, func(t *testing.T) {
			ctr := strings.TrimSpace(mustSucceed(t, "run -d", d.skiff("run", "-d", image)))
			// The log is startup.sh's output, then tail -F's of catalina.out,
			// where the stand-in found java through the Dockerfile's PATH.
			var logs string
			waitFor(t, "catalina.out shows the server's start", func() bool {
				logs = d.skiff("logs", ctr).stdout
				return strings.Contains(logs, "(a stand-in)\n")
			})
			if want := "Tomcat started.\nServer startup (a stand-in) with JAVA_HOME=/opt/jdk\nopenjdk version \"21\" (a stand-in)\n"; logs != want {
				t.Errorf("logs:\n%s\nwant:\n%s", logs, want)
			}
			mustSucceed(t, "exec", d.skiff("exec", ctr, "sh", "-c", "echo 'GET / 200' >> /opt/tomcat/logs/catalina.out"))
			waitFor(t, "tail -F follows catalina.out", func() bool {
				return strings.HasSuffix(d.skiff("logs", ctr).stdout, "GET / 200\n")
			})
			env := mustSucceed(t, "exec env", d.skiff("exec", ctr, "sh", "-c", `echo "$JAVA_HOME $PATH"`))
			if want := "/opt/jdk /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/jdk/bin\n"; env != want {
				t.Errorf("JAVA_HOME and PATH in the container: %q, want %q", env, want)
			}
			if got := inspect(t, d, "{{json .Config.Entrypoint}} {{json .Config.ExposedPorts}}", image); got != `["/bin/sh","-c","/opt/tomcat/bin/startup.sh && tail -F /opt/tomcat/logs/catalina.out"] {"8080/tcp":{}}` {
				t.Errorf("the image's entrypoint and ports: %s", got)
			}
		})
	}
}

// TestExamplesFromRegistryImages builds the examples whose base images come
// from a registry. The builder parses the whole Dockerfile (and refuses
// what it does not implement) before its first step, so a build that fails
// at its first FROM, on the base image the test daemon lacks, shows that
// the rest is a Dockerfile skiff builds; what it builds is not tested here.
func TestExamplesFromRegistryImages(t *testing.T) {
	d := withBusybox(t)
	for example, base := range map[string]string{"go-multistage": "golang:1.26", "python-app": "python:3-slim"} {
		t.Run(example, func(t *testing.T) {
			r := d.skiff("build", "-t", example, filepath.Join(examples, example))
			if r.code != 1 || !strings.HasPrefix(r.stderr, "No such image: "+base+" ") || !strings.Contains(r.stdout, "Step 1/") || strings.Contains(r.stdout, "Step 2/") {
				t.Errorf("build: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// writeTarGz writes a gzipped tar of files (contents by name; a name ending
// in / is a directory), all executable, parents before their entries, as a
// download holds them.
func writeTarGz(t testing.TB, path string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		h := &tar.Header{Name: name, Mode: 0o755, Size: int64(len(files[name])), Typeflag: tar.TypeReg, ModTime: testimage.Epoch}
		if strings.HasSuffix(name, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
