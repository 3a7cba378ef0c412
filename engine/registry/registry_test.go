package registry_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	_ "modernc.org/sqlite"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/enginetest"
	"github.com/skiff-dev/skiff/engine/monitor"
	skiffregistry "github.com/skiff-dev/skiff/engine/registry"
	"github.com/skiff-dev/skiff/engine/registry/registrytest"
	skiffruntime "github.com/skiff-dev/skiff/engine/runtime"
	"github.com/skiff-dev/skiff/engine/testimage"
)

func TestMain(m *testing.M) {
	skiffruntime.MaybeReexec()
	monitor.MaybeReexec()
	os.Exit(m.Run())
}

func TestPullFromDistribution(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	rootfs := testimage.Rootfs(t)
	img := registrytest.Image(t, rootfs)
	repo := reg.Host + "/test/busybox"
	manifestDigest := registrytest.Push(t, img, repo+":v1")
	configDigest, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("by tag", func(t *testing.T) {
		e := enginetest.Open(t)
		res, err := e.ImagePull(ctx, repo+":v1", engine.ImagePullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.ID.String() != configDigest.String() || res.Digest != manifestDigest || res.Tag != repo+":v1" {
			t.Fatalf("pull result %+v, want ID %s, digest %s, tag %s:v1", res, configDigest, manifestDigest, repo)
		}
		got, err := e.ImageInspect(ctx, repo+":v1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID.String() != configDigest.String() {
			t.Fatalf("tag %s:v1 names %s, want %s", repo, got.ID, configDigest)
		}
		if out := enginetest.Run(t, e, repo+":v1", "busybox", "echo", "hi"); out != "hi\n" {
			t.Fatalf("container printed %q, want %q", out, "hi\n")
		}
	})

	t.Run("progress", func(t *testing.T) {
		e := enginetest.Open(t)
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		blobDigest, _ := layers[0].Digest()
		blobSize, _ := layers[0].Size()
		pull := func() (engine.ImagePullResult, []string) {
			var steps []string
			res, err := e.ImagePull(ctx, repo+":v1", engine.ImagePullOptions{Progress: func(p skiffregistry.Progress) {
				if p.Layer.String() != blobDigest.String() {
					t.Errorf("progress of layer %s, want %s", p.Layer, blobDigest)
				}
				if p.Status == skiffregistry.Downloading || p.Status == skiffregistry.Extracting {
					if p.Total != blobSize || p.Current <= 0 || p.Current > p.Total {
						t.Errorf("downloading %d of %d, want up to %d", p.Current, p.Total, blobSize)
					}
					if p.Current < p.Total {
						return // the steps below keep the last only
					}
				}
				steps = append(steps, p.Status)
			}})
			if err != nil {
				t.Fatal(err)
			}
			return res, steps
		}
		res, steps := pull()
		want := []string{skiffregistry.PullingFSLayer, skiffregistry.Downloading, skiffregistry.VerifyingChecksum, skiffregistry.DownloadComplete, skiffregistry.Extracting, skiffregistry.PullComplete}
		if !slices.Equal(steps, want) || res.UpToDate {
			t.Fatalf("first pull: steps %q, up to date %v; want %q, not up to date", steps, res.UpToDate, want)
		}
		res, steps = pull()
		if want := []string{skiffregistry.AlreadyExists}; !slices.Equal(steps, want) || !res.UpToDate {
			t.Fatalf("second pull: steps %q, up to date %v; want %q, up to date", steps, res.UpToDate, want)
		}
	})

	t.Run("by digest", func(t *testing.T) {
		e := enginetest.Open(t)
		res, err := e.ImagePull(ctx, repo+"@"+manifestDigest.String(), engine.ImagePullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.ID.String() != configDigest.String() || res.Tag != "" {
			t.Fatalf("pull by digest: %+v, want ID %s and no tag", res, configDigest)
		}
		if _, err := e.ImageInspect(ctx, configDigest.String()); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("unknown digest", func(t *testing.T) {
		e := enginetest.Open(t)
		unknown := digest.FromString("no such manifest")
		_, err := e.ImagePull(ctx, repo+"@"+unknown.String(), engine.ImagePullOptions{})
		want := "manifest for " + repo + "@" + unknown.String() + " not found: manifest unknown: manifest unknown"
		if !errdefs.IsNotFound(err) || err.Error() != want {
			t.Fatalf("pull of an unknown digest: %v, want a not-found error %q", err, want)
		}
		assertNoImages(t, e)
	})

	t.Run("tampered layer", func(t *testing.T) {
		// Another gzip of the same tar: the layer still unpacks to the
		// config's diff ID, so only the check of the blob's digest while it
		// streams in can catch the swap. The image has a layer of its own
		// (the rootfs and some padding) to leave test/busybox's blob alone.
		other := registrytest.Image(t, append(append([]byte(nil), rootfs...), make([]byte, 1024)...))
		registrytest.Push(t, other, reg.Host+"/test/tampered:v1")
		layers, err := other.Layers()
		if err != nil {
			t.Fatal(err)
		}
		layerDigest, err := layers[0].Digest()
		if err != nil {
			t.Fatal(err)
		}
		blob := filepath.Join(reg.Storage, "docker/registry/v2/blobs/sha256", layerDigest.Hex[:2], layerDigest.Hex, "data")
		orig, err := os.ReadFile(blob)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(blob, regzip(t, orig), 0o644); err != nil {
			t.Fatal(err)
		}

		e := enginetest.Open(t)
		_, err = e.ImagePull(ctx, reg.Host+"/test/tampered:v1", engine.ImagePullOptions{})
		if err == nil || !strings.Contains(err.Error(), layerDigest.String()) || !strings.Contains(err.Error(), "checksum") {
			t.Fatalf("pull of a tampered layer: %v, want a checksum error naming %s", err, layerDigest)
		}
		assertNoImages(t, e)
	})
}

// regzip compresses the content of a gzip blob again, better, and pads it
// to the blob's length with empty gzip members (which decompress to
// nothing): other bytes of the same size, the same tar. So only the blob's
// digest tells them apart.
func regzip(t *testing.T, blob []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := io.Copy(zw, zr); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	// An empty member with an extra field of n bytes is emptyLen+2+n long.
	emptyLen := len(emptyMember(nil))
	for pad := len(blob) - buf.Len(); pad > 0; {
		n := min(pad-emptyLen-2, 1<<16-1)
		if rest := pad - (emptyLen + 2 + n); rest > 0 && rest < emptyLen+2 {
			n -= emptyLen + 2 // leave room for one more member
		}
		if n < 0 {
			t.Fatalf("cannot pad the recompressed blob by %d bytes", pad)
		}
		member := emptyMember(make([]byte, n))
		buf.Write(member)
		pad -= len(member)
	}
	if buf.Len() != len(blob) || bytes.Equal(buf.Bytes(), blob) {
		t.Fatalf("recompressed blob: %d bytes, want other bytes of %d", buf.Len(), len(blob))
	}
	return buf.Bytes()
}

// emptyMember is a gzip member of no content whose header carries extra.
func emptyMember(extra []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Extra = extra
	zw.Close()
	return buf.Bytes()
}

// assertNoImages fails unless e stores no image.
func assertNoImages(t *testing.T, e *engine.Engine) {
	t.Helper()
	list, err := e.ImageList(context.Background(), engine.ImageListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Fatalf("a failed pull left %d images: %+v", len(list), list)
	}
}
