package registry_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/enginetest"
)

func TestPullErrorsInDockersWords(t *testing.T) {
	reg := startFaultRegistry(t)
	reg.push(t, "test/known:v1", 1024, 1)
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	other := "s390x"
	if runtime.GOARCH == other {
		other = "arm64"
	}
	index := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{
		Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: other}},
	})
	ref, err := name.ParseReference(reg.host+"/test/foreign:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, index); err != nil {
		t.Fatal(err)
	}

	e := enginetest.Open(t)
	for _, tc := range []struct{ ref, want string }{
		{reg.host + "/test/known:nosuchtag", "manifest for " + reg.host + "/test/known:nosuchtag not found: manifest unknown: "},
		{reg.host + "/test/nosuchrepo:v1", "pull access denied for " + reg.host + "/test/nosuchrepo, repository does not exist or may require 'docker login': name unknown: "},
		{reg.host + "/test/foreign:v1", "no matching manifest for linux/" + runtime.GOARCH + " in the manifest list entries"},
	} {
		_, err := e.ImagePull(context.Background(), tc.ref, engine.ImagePullOptions{})
		if !errdefs.IsNotFound(err) || len(err.Error()) < len(tc.want) || err.Error()[:len(tc.want)] != tc.want {
			t.Errorf("pull %s: %v, want a not-found error starting %q", tc.ref, err, tc.want)
		}
	}
	assertNoImages(t, e)
}
