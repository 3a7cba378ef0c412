package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/engine/registry/registrytest"
	"github.com/skiff-dev/skiff/engine/testimage"
)

func TestPullFromARegistryWithBothCLIs(t *testing.T) {
	reg := registrytest.Start(t)
	img := registrytest.Image(t, testimage.Rootfs(t))
	repo := reg.Host + "/test/busybox"
	manifestDigest := registrytest.Push(t, img, repo+":v1")
	configDigest, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	blob, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	layer := blob.Hex[:12]
	want := fmt.Sprintf(`v1: Pulling from test/busybox
%[1]s: Pulling fs layer
%[1]s: Verifying Checksum
%[1]s: Download complete
%[1]s: Pull complete
Digest: %[2]s
Status: Downloaded newer image for %[3]s:v1
%[3]s:v1
`, layer, manifestDigest, repo)

	// Each CLI pulls into a daemon of its own, so both download.
	bySkiff, byDocker := startSkiffd(t, ""), startSkiffd(t, "")
	if got := mustSucceed(t, "skiff pull", bySkiff.skiff("pull", repo+":v1")); got != want {
		t.Errorf("skiff pull printed\n%s\nwant\n%s", got, want)
	}
	if got := mustSucceed(t, "docker pull", byDocker.docker("pull", repo+":v1")); got != want {
		t.Errorf("docker pull printed\n%s\nwant\n%s", got, want)
	}

	d := bySkiff
	if id := strings.TrimSpace(mustSucceed(t, "inspect", d.skiff("image", "inspect", "--format", "{{.Id}}", repo+":v1"))); id != configDigest.String() {
		t.Errorf("pulled image ID %s, want the pushed config's digest %s", id, configDigest)
	}
	if out := mustSucceed(t, "skiff run", d.skiff("run", "--rm", repo+":v1", "busybox", "echo", "hi")); out != "hi\n" {
		t.Errorf("skiff run printed %q, want %q", out, "hi\n")
	}
	again := mustSucceed(t, "skiff pull again", d.skiff("pull", repo+":v1"))
	if want := fmt.Sprintf("%s: Already exists\n", layer); !strings.Contains(again, want) || !strings.Contains(again, "Status: Image is up to date for "+repo+":v1\n") {
		t.Errorf("second pull printed\n%s\nwant the layer already there and the image up to date", again)
	}

	pinned := repo + "@" + manifestDigest.String()
	for cli, pull := range map[string]func(...string) result{"skiff": d.skiff, "docker": byDocker.docker} {
		out := mustSucceed(t, cli+" pull by digest", pull("pull", pinned))
		if !strings.HasSuffix(out, "\n"+pinned+"\n") {
			t.Errorf("%s pull by digest printed\n%s\nwant it to end with %s", cli, out, pinned)
		}
		res := pull("pull", repo+":nosuchtag")
		if res.code == 0 || !strings.Contains(res.stderr, "manifest unknown") {
			t.Errorf("%s pull of an unknown tag: exit %d, stderr %q; want a failure saying manifest unknown", cli, res.code, res.stderr)
		}
	}
}
