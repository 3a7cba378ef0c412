package registry_test

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/enginetest"
	"github.com/skiff-dev/skiff/engine/registry/registrytest"
	"github.com/skiff-dev/skiff/engine/testimage"
)

// What registries serve besides a Docker schema 2 image: a manifest list
// (an OCI index here) of several platforms, of which the host's is pulled,
// and an image in OCI's media types. Each is pulled, keeps its config's
// digest as its ID, and runs.
func TestPullManifestListsAndOCIImages(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	host := registrytest.Image(t, testimage.Rootfs(t))

	other := "s390x"
	if runtime.GOARCH == other {
		other = "arm64"
	}
	foreign, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	index := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: foreign, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: other}}},
		mutate.IndexAddendum{Add: host, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}},
	)
	writeIndex(t, index, reg.Host+"/test/multi:v1")

	oci := ociImage(t, testimage.Rootfs(t))
	registrytest.Push(t, oci, reg.Host+"/test/oci:v1")

	for _, tc := range []struct {
		name, ref string
		want      v1.Image
	}{
		{"the host's image of a manifest list", reg.Host + "/test/multi:v1", host},
		{"an OCI image", reg.Host + "/test/oci:v1", oci},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := enginetest.Open(t)
			res, err := e.ImagePull(ctx, tc.ref, engine.ImagePullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			id, err := tc.want.ConfigName()
			if err != nil {
				t.Fatal(err)
			}
			if res.ID.String() != id.String() {
				t.Fatalf("pulled %s, want the image whose config is %s", res.ID, id)
			}
			if out := enginetest.Run(t, e, tc.ref, "busybox", "echo", "hi"); out != "hi\n" {
				t.Fatalf("container printed %q, want %q", out, "hi\n")
			}
		})
	}
}

// ociImage is a one-layer image of rootfs in OCI's media types only.
func ociImage(t *testing.T, rootfs []byte) v1.Image {
	t.Helper()
	base := mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1)
	base, err := mutate.ConfigFile(base, &v1.ConfigFile{OS: "linux", Architecture: runtime.GOARCH, Config: v1.Config{Cmd: []string{"sh"}}})
	if err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(rootfs)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if manifest.MediaType != types.OCIManifestSchema1 || manifest.Config.MediaType != types.OCIConfigJSON || manifest.Layers[0].MediaType != types.OCILayer {
		t.Fatalf("not an OCI image: %+v", manifest)
	}
	return img
}

func writeIndex(t *testing.T, index v1.ImageIndex, ref string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, index); err != nil {
		t.Fatal(err)
	}
}
