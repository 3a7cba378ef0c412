package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/engine/registry/registrytest"
)

// skiffIn runs the skiff CLI against the daemon with stdin.
func (d *skiffd) skiffIn(stdin string, args ...string) result {
	d.t.Helper()
	return run(d.t, []string{"SKIFF_TEST_MAIN=1", "SKIFF_HOST=unix://" + d.socket}, []byte(stdin), os.Args[0], args...)
}

// dockerIn runs the docker CLI against the daemon with stdin.
func (d *skiffd) dockerIn(stdin string, args ...string) result {
	d.t.Helper()
	return run(d.t, []string{"DOCKER_HOST=unix://" + d.socket, "DOCKER_CONFIG=" + filepath.Join(d.workDir, "docker-config")}, []byte(stdin), "docker", args...)
}

var manifestLine = regexp.MustCompile(`(?m)^v1: digest: (sha256:[0-9a-f]{64}) size: [0-9]+$`)

func TestLoginPushPullWithBothCLIs(t *testing.T) {
	const user, password = "pusher", "Pa55-word-never-logged"
	reg := registrytest.Start(t, registrytest.WithHtpasswd(t, user, password))
	d := startSkiffd(t, "")
	repo := reg.Host + "/test/busybox"
	d.importImage(t, repo+":v1", nil, `CMD ["sh"]`)
	layer := strings.TrimPrefix(inspect(t, d, "{{index .RootFS.Layers 0}}", repo+":v1"), "sha256:")[:12]

	if res := d.skiff("push", repo+":v1"); res.code == 0 || !strings.Contains(res.stderr, "UNAUTHORIZED") {
		t.Fatalf("push before login: exit %d, stderr %q; want the registry's refusal", res.code, res.stderr)
	}
	res := d.skiffIn("wrong\n", "login", "-u", user, "--password-stdin", reg.Host)
	wantRefusal := fmt.Sprintf("Error response from daemon: login attempt to http://%s/v2/ failed with status: 401 Unauthorized\n", reg.Host)
	if res.code == 0 || res.stderr != wantRefusal {
		t.Fatalf("login with a wrong password: exit %d, stderr %q; want %q", res.code, res.stderr, wantRefusal)
	}
	if out := mustSucceed(t, "skiff login", d.skiffIn(password+"\n", "login", "-u", user, "--password-stdin", reg.Host)); out != "Login Succeeded\n" {
		t.Fatalf("skiff login printed %q", out)
	}
	auth := filepath.Join(d.root, "registry-auth.json")
	if fi, err := os.Stat(auth); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, %v; want mode 0600", fi, err)
	}

	out := mustSucceed(t, "skiff push", d.skiff("push", repo+":v1"))
	m := manifestLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("skiff push printed\n%s\nwant a v1: digest: line", out)
	}
	want := fmt.Sprintf("The push refers to repository [%s]\n%s: Preparing\n%s: Pushed\n%s\n", repo, layer, layer, m[0])
	if out != want {
		t.Errorf("skiff push printed\n%s\nwant\n%s", out, want)
	}
	again := mustSucceed(t, "skiff push again", d.skiff("push", repo+":v1"))
	if want := strings.Replace(want, "Pushed", "Layer already exists", 1); again != want {
		t.Errorf("second push printed\n%s\nwant\n%s", again, want)
	}

	// Gone locally, the image comes back from the registry and runs.
	mustSucceed(t, "rmi", d.skiff("rmi", repo+":v1"))
	pulled := mustSucceed(t, "skiff pull", d.skiff("pull", repo+":v1"))
	if !strings.Contains(pulled, "Digest: "+m[1]+"\n") {
		t.Errorf("pull printed\n%s\nwant the pushed digest %s", pulled, m[1])
	}
	if out := mustSucceed(t, "skiff run", d.skiff("run", "--rm", repo+":v1", "busybox", "echo", "hi")); out != "hi\n" {
		t.Errorf("run of the pulled image printed %q", out)
	}

	// docker login stores the account in the docker CLI's config (and the
	// daemon's); with the daemon's forgotten, docker push works by the
	// X-Registry-Auth header alone.
	if out := mustSucceed(t, "docker login", d.dockerIn(password+"\n", "login", "-u", user, "--password-stdin", reg.Host)); !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("docker login printed %q", out)
	}
	if out := mustSucceed(t, "skiff logout", d.skiff("logout", reg.Host)); out != "Removing login credentials for "+reg.Host+"\n" {
		t.Errorf("skiff logout printed %q", out)
	}
	if res := d.skiff("push", repo+":v1"); res.code == 0 {
		t.Fatal("skiff push after logout succeeded")
	}
	other := reg.Host + "/other/busybox"
	mustSucceed(t, "tag", d.skiff("tag", repo+":v1", other+":v1"))
	out = mustSucceed(t, "docker push", d.docker("push", other+":v1"))
	want = fmt.Sprintf("The push refers to repository [%s]\n%s: Preparing\n%s: Mounted from test/busybox\n%s\n", other, layer, layer, m[0])
	if out != want {
		t.Errorf("docker push printed\n%s\nwant\n%s", out, want)
	}

	// The password is nowhere but in the credentials file: not in the
	// daemon's log, nor its database.
	for _, f := range []string{"skiff.db", "skiff.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(d.root, f))
		if bytes.Contains(b, []byte(password)) {
			t.Errorf("%s holds the password", f)
		}
	}
	if strings.Contains(d.log.String(), password) {
		t.Errorf("the daemon's log holds the password:\n%s", d.log)
	}
}
