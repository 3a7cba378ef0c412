package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestReadLegacyDockerArchive reads the format of docker save before Docker
// 25: configs named <hex>.json, layers in <v1 id>/layer.tar, a layer repeated
// in the image stored once and linked, a compressed layer.
func TestReadLegacyDockerArchive(t *testing.T) {
	plain := layerTar(t, "one", "first layer")
	compressed := layerTar(t, "two", "second layer")
	config := imageConfig(t, "legacy", digest.FromBytes(plain), digest.FromBytes(compressed), digest.FromBytes(plain))
	configName := digest.FromBytes(config).Encoded() + ".json"
	first, second, third := v1ID("first"), v1ID("second"), v1ID("third")

	data := buildTar(t,
		tarEntry{name: "./", typeflag: tar.TypeDir},
		tarEntry{name: "./" + first + "/", typeflag: tar.TypeDir},
		file("./"+first+"/VERSION", []byte("1.0")),
		file("./"+first+"/json", []byte(`{"id":"`+first+`","os":"linux"}`)),
		file("./"+first+"/layer.tar", plain),
		file(second+"/VERSION", []byte("1.0")),
		file(second+"/json", []byte(`{"id":"`+second+`","parent":"`+first+`"}`)),
		file(second+"/layer.tar", gzipped(t, compressed)),
		file(third+"/json", []byte(`{"id":"`+third+`","parent":"`+second+`"}`)),
		symlink(third+"/layer.tar", "../"+first+"/layer.tar"),
		file(configName, config),
		jsonFile(t, "manifest.json", []dockerManifestItem{{
			Config:   configName,
			RepoTags: []string{"busybox:latest"},
			Layers:   []string{first + "/layer.tar", second + "/layer.tar", third + "/layer.tar"},
		}}),
		jsonFile(t, "repositories", map[string]map[string]string{"busybox": {"latest": third}}),
	)

	images := readArchive(t, data).Images()
	if len(images) != 1 {
		t.Fatalf("loaded %d images, want 1", len(images))
	}
	img := images[0]
	if img.ConfigDigest != digest.FromBytes(config) || !bytes.Equal(img.Config, config) {
		t.Errorf("config %s, want %s", img.ConfigDigest, digest.FromBytes(config))
	}
	if !slices.Equal(img.RepoTags, []string{"busybox:latest"}) {
		t.Errorf("RepoTags %q", img.RepoTags)
	}
	want := [][]byte{plain, compressed, plain}
	if len(img.Layers) != len(want) {
		t.Fatalf("%d layers, want %d", len(img.Layers), len(want))
	}
	for i, l := range img.Layers {
		if !bytes.Equal(layerBytes(t, l), want[i]) {
			t.Errorf("layer %d: content differs from the uncompressed tar", i)
		}
		if l.Digest != "" {
			t.Errorf("layer %d: Digest %q, want none for a legacy layer", i, l.Digest)
		}
	}
}

// Links are resolved inside the archive, whichever way they are written.
func TestReadFollowsLinks(t *testing.T) {
	layer := layerTar(t, "f", "linked")
	config := imageConfig(t, "links", digest.FromBytes(layer))
	configName := digest.FromBytes(config).Encoded() + ".json"
	tests := []struct {
		name      string
		links     []tarEntry
		layerPath string
	}{
		{"relative symlink", []tarEntry{symlink("l2/layer.tar", "../l1/layer.tar")}, "l2/layer.tar"},
		{"hard link", []tarEntry{{name: "l2/layer.tar", typeflag: tar.TypeLink, linkname: "l1/layer.tar"}}, "l2/layer.tar"},
		{"symlinked directory", []tarEntry{symlink("l2", "l1")}, "l2/layer.tar"},
		{"chain of links", []tarEntry{symlink("l3", "l2"), symlink("l2", "l1")}, "l3/layer.tar"},
		{"link into blobs", []tarEntry{blobFile(layer), symlink("l2/layer.tar", "../blobs/sha256/"+digest.FromBytes(layer).Encoded())}, "l2/layer.tar"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries := append([]tarEntry{file(configName, config), file("l1/layer.tar", layer)}, tt.links...)
			entries = append(entries, jsonFile(t, dockerManifestFile, []dockerManifestItem{{Config: configName, Layers: []string{tt.layerPath}}}))

			images := readArchive(t, buildTar(t, entries...)).Images()
			if len(images) != 1 || len(images[0].Layers) != 1 {
				t.Fatalf("loaded %+v, want one image of one layer", images)
			}
			if !bytes.Equal(layerBytes(t, images[0].Layers[0]), layer) {
				t.Error("layer content differs")
			}
		})
	}
}

func v1ID(seed string) string {
	return digest.FromString(seed).Encoded()
}

func TestReadOCILayoutPicksHostPlatform(t *testing.T) {
	tests := []struct {
		name            string
		layerMediaType  string
		compress        func(*testing.T, []byte) []byte
		platformInIndex bool
	}{
		{"gzip layer", ocispec.MediaTypeImageLayerGzip, gzipped, true},
		{"zstd layer", ocispec.MediaTypeImageLayerZstd, zstdCompressed, true},
		{"uncompressed layer", ocispec.MediaTypeImageLayer, func(_ *testing.T, b []byte) []byte { return b }, true},
		{"platform read from config", ocispec.MediaTypeImageLayerGzip, gzipped, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := newOCIImage(t, runtime.GOARCH, tt.layerMediaType, tt.compress)
			other := newOCIImage(t, otherArch(), tt.layerMediaType, tt.compress)
			hostDesc, otherDesc := host.descriptor(tt.platformInIndex), other.descriptor(tt.platformInIndex)
			nested := mustJSON(t, ocispec.Index{
				Versioned: specs.Versioned{SchemaVersion: 2},
				MediaType: ocispec.MediaTypeImageIndex,
				Manifests: []ocispec.Descriptor{otherDesc, hostDesc},
			})
			top := descriptor(ocispec.MediaTypeImageIndex, nested)
			top.Annotations = map[string]string{
				annotationImageName:       "docker.io/library/app:1.0",
				ocispec.AnnotationRefName: "1.0",
			}
			blobs := append(host.blobs(), other.blobs()...)
			data := ociLayoutTar(t, []ocispec.Descriptor{top}, append(blobs, nested)...)

			images := readArchive(t, data).Images()
			if len(images) != 1 {
				t.Fatalf("loaded %d images, want 1", len(images))
			}
			img := images[0]
			if img.ConfigDigest != digest.FromBytes(host.config) {
				t.Errorf("picked config %s, want the %s one %s", img.ConfigDigest, runtime.GOARCH, digest.FromBytes(host.config))
			}
			if !slices.Equal(img.RepoTags, []string{"app:1.0"}) {
				t.Errorf("RepoTags %q, want [app:1.0]", img.RepoTags)
			}
			if len(img.Layers) != 1 {
				t.Fatalf("%d layers, want 1", len(img.Layers))
			}
			if !bytes.Equal(layerBytes(t, img.Layers[0]), host.layer) {
				t.Error("layer content differs from the uncompressed tar")
			}
			if img.Layers[0].Digest != digest.FromBytes(host.storedLayer) {
				t.Errorf("layer Digest %s, want that of the stored blob", img.Layers[0].Digest)
			}
		})
	}
}

func TestReadOCIMediaTypes(t *testing.T) {
	host := newOCIImage(t, runtime.GOARCH, ocispec.MediaTypeImageLayerGzip, gzipped)
	other := newOCIImage(t, otherArch(), ocispec.MediaTypeImageLayerGzip, gzipped)
	tests := []struct {
		name, indexType, manifestType string
	}{
		{"OCI", ocispec.MediaTypeImageIndex, ocispec.MediaTypeImageManifest},
		{"Docker", mediaTypeDockerManifestList, mediaTypeDockerManifest},
		{"unstated", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hostDesc, otherDesc := host.descriptor(true), other.descriptor(true)
			hostDesc.MediaType, otherDesc.MediaType = tt.manifestType, tt.manifestType
			nested := mustJSON(t, ocispec.Index{
				Versioned: specs.Versioned{SchemaVersion: 2},
				MediaType: tt.indexType,
				Manifests: []ocispec.Descriptor{otherDesc, hostDesc},
			})
			blobs := append(append(host.blobs(), other.blobs()...), nested)
			data := ociLayoutTar(t, []ocispec.Descriptor{descriptor(tt.indexType, nested)}, blobs...)

			images := readArchive(t, data).Images()
			if len(images) != 1 || images[0].ConfigDigest != digest.FromBytes(host.config) {
				t.Errorf("loaded %d images, want the %s one", len(images), runtime.GOARCH)
			}
		})
	}
}

func otherArch() string {
	if runtime.GOARCH == "arm64" {
		return "amd64"
	}
	return "arm64"
}

// ociImage is a one-layer image in an OCI layout.
type ociImage struct {
	arch                       string
	layer, storedLayer, config []byte
	manifest                   []byte
}

func newOCIImage(t *testing.T, arch, layerMediaType string, compress func(*testing.T, []byte) []byte) ociImage {
	t.Helper()
	img := ociImage{arch: arch, layer: layerTar(t, "arch", arch)}
	img.storedLayer = compress(t, img.layer)
	img.config = platformConfig(t, arch, arch, digest.FromBytes(img.layer))
	img.manifest = mustJSON(t, ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    descriptor(ocispec.MediaTypeImageConfig, img.config),
		Layers:    []ocispec.Descriptor{descriptor(layerMediaType, img.storedLayer)},
	})
	return img
}

func (img ociImage) descriptor(withPlatform bool) ocispec.Descriptor {
	desc := descriptor(ocispec.MediaTypeImageManifest, img.manifest)
	if withPlatform {
		desc.Platform = &ocispec.Platform{OS: "linux", Architecture: img.arch}
	}
	return desc
}

func (img ociImage) blobs() [][]byte {
	return [][]byte{img.storedLayer, img.config, img.manifest}
}

// ociLayoutTar builds an OCI layout whose index.json lists manifests.
func ociLayoutTar(t *testing.T, manifests []ocispec.Descriptor, blobs ...[]byte) []byte {
	t.Helper()
	entries := []tarEntry{
		jsonFile(t, ocispec.ImageLayoutFile, ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion}),
		jsonFile(t, ocispec.ImageIndexFile, ocispec.Index{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: ocispec.MediaTypeImageIndex,
			Manifests: manifests,
		}),
	}
	for _, b := range blobs {
		entries = append(entries, blobFile(b))
	}
	return buildTar(t, entries...)
}

func TestReadOCIImageNames(t *testing.T) {
	img := newOCIImage(t, runtime.GOARCH, ocispec.MediaTypeImageLayerGzip, gzipped)
	named := func(annotations map[string]string) ocispec.Descriptor {
		desc := img.descriptor(false)
		desc.Annotations = annotations
		return desc
	}
	tests := []struct {
		name      string
		manifests []ocispec.Descriptor
		want      []string
	}{
		{"containerd name", []ocispec.Descriptor{named(map[string]string{annotationImageName: "docker.io/library/busybox:latest"})}, []string{"busybox:latest"}},
		{"containerd name wins", []ocispec.Descriptor{named(map[string]string{annotationImageName: "docker.io/library/busybox:1", ocispec.AnnotationRefName: "other:2"})}, []string{"busybox:1"}},
		{"full reference as ref.name", []ocispec.Descriptor{named(map[string]string{ocispec.AnnotationRefName: "docker.io/myrepo/app:v1"})}, []string{"myrepo/app:v1"}},
		{"registry with port", []ocispec.Descriptor{named(map[string]string{ocispec.AnnotationRefName: "registry.example.com:5000/app:v2"})}, []string{"registry.example.com:5000/app:v2"}},
		{"bare tag names no repository", []ocispec.Descriptor{named(map[string]string{ocispec.AnnotationRefName: "latest"})}, nil},
		{"no annotations", []ocispec.Descriptor{named(nil)}, nil},
		{"unparsable name kept as found", []ocispec.Descriptor{named(map[string]string{annotationImageName: "Upper/Case:x"})}, []string{"Upper/Case:x"}},
		{"one manifest, two names", []ocispec.Descriptor{
			named(map[string]string{annotationImageName: "docker.io/library/a:1"}),
			named(map[string]string{annotationImageName: "docker.io/library/b:2"}),
			named(map[string]string{annotationImageName: "docker.io/library/a:1"}),
		}, []string{"a:1", "b:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			images := readArchive(t, ociLayoutTar(t, tt.manifests, img.blobs()...)).Images()
			if len(images) != 1 {
				t.Fatalf("loaded %d images, want 1", len(images))
			}
			if !slices.Equal(images[0].RepoTags, tt.want) {
				t.Errorf("RepoTags %q, want %q", images[0].RepoTags, tt.want)
			}
		})
	}
}

// docker load accepts a compressed tarball, so does Read.
func TestReadCompressedArchive(t *testing.T) {
	f := newSaveFixture(t)
	images := readArchive(t, gzipped(t, writeArchive(t, f.images()...))).Images()
	if len(images) != 3 {
		t.Fatalf("loaded %d images, want 3", len(images))
	}
	assertLoadedImage(t, images[0], f.tagged)
}

func TestCloseRemovesSpool(t *testing.T) {
	tmp := t.TempDir()
	a, err := Read(context.Background(), bytes.NewReader(writeArchive(t, newSaveFixture(t).images()...)), tmp)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertEmptyDir(t, tmp)
}

func TestReadRefusesBadInput(t *testing.T) {
	layer := layerTar(t, "f", "x")
	config := imageConfig(t, "bad", digest.FromBytes(layer))
	configName := digest.FromBytes(config).Encoded() + ".json"
	otherHex := digest.FromString("something else").Encoded()
	manifest := func(config string, layers ...string) tarEntry {
		return jsonFile(t, dockerManifestFile, []dockerManifestItem{{Config: config, Layers: layers}})
	}
	legacy := func(entries ...tarEntry) []byte {
		return buildTar(t, append([]tarEntry{file(configName, config), file("l1/layer.tar", layer)}, entries...)...)
	}
	valid := writeArchive(t, Image{Config: config, Layers: []Layer{saveLayer(layer)}})
	tooBigJSON := append(append([]byte("["), bytes.Repeat([]byte(" "), maxJSONSize)...), ']')

	hostImage := newOCIImage(t, runtime.GOARCH, ocispec.MediaTypeImageLayer, func(_ *testing.T, b []byte) []byte { return b })
	otherImage := newOCIImage(t, otherArch(), ocispec.MediaTypeImageLayer, func(_ *testing.T, b []byte) []byte { return b })
	wrongSize := hostImage.descriptor(false)
	wrongSize.Size++

	tests := []struct {
		name  string
		input []byte
		want  []string // substrings of the error
	}{
		{"not a tar", randomBytes(4096), []string{"not a tar archive"}},
		{"empty input", nil, []string{"not an image archive: no manifest.json or index.json"}},
		{"truncated in a blob", valid[:3*512+100], []string{"truncated", "blobs/sha256/" + digest.FromBytes(layer).Encoded()}},
		{"truncated in a header", valid[:2*512+100], []string{"truncated", `after entry "blobs/sha256/"`}},
		{"entry climbing out", buildTar(t, file("../x", nil)), []string{`"../x"`, "escapes the archive"}},
		{"entry climbing out midway", buildTar(t, file("a/../../x", nil)), []string{`"a/../../x"`, "escapes the archive"}},
		{"absolute entry", buildTar(t, file("/abs", nil)), []string{`"/abs"`, "absolute path"}},
		{"link climbing out", buildTar(t, symlink("a/evil", "../../etc/passwd")), []string{`"a/evil"`, "escapes the archive"}},
		{"link to absolute path", buildTar(t, symlink("evil", "/etc/passwd")), []string{`"evil"`, "absolute path"}},
		{"link in blobs", buildTar(t, symlink("blobs/sha256/"+otherHex, "x")), []string{"blobs/sha256/" + otherHex, "blobs must be regular files"}},
		{"blob content not matching its name", buildTar(t, file("blobs/sha256/"+otherHex, []byte("not it"))), []string{"blob digest mismatch", "blobs/sha256/" + otherHex}},
		{"invalid blob name", buildTar(t, file("blobs/sha256/xyz", nil)), []string{"blobs/sha256/xyz", "not a valid blob name"}},
		{"config digest mismatch, legacy name", legacy(file(otherHex+".json", config), manifest(otherHex+".json", "l1/layer.tar")), []string{"config digest mismatch", otherHex + ".json"}},
		{"config digest mismatch, blob name", legacy(file("blobs/sha256/"+otherHex, config), manifest("blobs/sha256/"+otherHex, "l1/layer.tar")), []string{"digest mismatch", "blobs/sha256/" + otherHex}},
		{"link loop", legacy(symlink("a", "b"), symlink("b", "a"), manifest(configName, "a")), []string{`layer "a"`, "too many links"}},
		{"missing layer", legacy(manifest(configName, "l2/layer.tar")), []string{`manifest.json: image 0: layer "l2/layer.tar": not in the archive`}},
		{"missing config", legacy(manifest("nope.json", "l1/layer.tar")), []string{`manifest.json: image 0: config "nope.json": not in the archive`}},
		{"config path climbing out", legacy(manifest("../"+configName, "l1/layer.tar")), []string{"../" + configName, "escapes the archive"}},
		{"layer count differs", legacy(manifest(configName)), []string{"image " + digest.FromBytes(config).Encoded()[:12] + ": config lists 1 layers, manifest lists 0"}},
		{"no manifest", buildTar(t, file("hello.txt", []byte("hi"))), []string{"not an image archive: no manifest.json or index.json"}},
		{"malformed manifest.json", buildTar(t, file(dockerManifestFile, []byte(`[{"Config":`))), []string{"manifest.json", "malformed JSON"}},
		{"null manifest.json", buildTar(t, file(dockerManifestFile, []byte(`null`))), []string{"manifest.json: null"}},
		{"manifest.json over 8 MiB", buildTar(t, file(dockerManifestFile, tooBigJSON)), []string{"manifest.json", "8 MiB"}},
		{"index.json over 8 MiB", buildTar(t, file(ocispec.ImageIndexFile, tooBigJSON)), []string{"index.json", "8 MiB"}},
		{"malformed index.json", buildTar(t, file(ocispec.ImageIndexFile, []byte(`{"manifests":[}`))), []string{"index.json", "malformed JSON"}},
		{"index.json naming a missing manifest", ociLayoutTar(t, []ocispec.Descriptor{hostImage.descriptor(false)}), []string{"index.json: entry 0: manifest " + digest.FromBytes(hostImage.manifest).String() + ": not in the archive"}},
		{"manifest size differs from descriptor", ociLayoutTar(t, []ocispec.Descriptor{wrongSize}, hostImage.blobs()...), []string{"descriptor says"}},
		{"no image for the host platform", ociLayoutTar(t, []ocispec.Descriptor{otherImage.descriptor(true)}, otherImage.blobs()...), []string{"no image for platform linux/" + runtime.GOARCH}},
		{"unsupported media type", ociLayoutTar(t, []ocispec.Descriptor{descriptor("application/vnd.example+json", []byte("{}"))}, []byte("{}")), []string{"index.json: entry 0", `unsupported media type "application/vnd.example+json"`}},
		{"unsupported layout version", buildTar(t, file(ocispec.ImageLayoutFile, []byte(`{"imageLayoutVersion":"2.0.0"}`)), file(ocispec.ImageIndexFile, []byte(`{}`))), []string{"unsupported image layout version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			a, err := Read(context.Background(), bytes.NewReader(tt.input), tmp)
			if err == nil {
				a.Close()
				t.Fatal("Read succeeded")
			}
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("error %q is not an invalid argument error", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			assertEmptyDir(t, tmp)
		})
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// Failures that are not the archive's fault must keep their own class rather
// than be reported as bad input.
func TestReadKeepsOtherFailures(t *testing.T) {
	valid := writeArchive(t, newSaveFixture(t).images()...)
	brokenConnection := errors.New("connection reset by peer")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name  string
		ctx   context.Context
		input io.Reader
		is    error
	}{
		{"source fails", context.Background(), io.MultiReader(bytes.NewReader(valid[:2000]), iotest.ErrReader(brokenConnection)), brokenConnection},
		{"context cancelled", cancelled, bytes.NewReader(valid), context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			a, err := Read(tt.ctx, tt.input, tmp)
			if err == nil {
				a.Close()
				t.Fatal("Read succeeded")
			}
			if !errors.Is(err, tt.is) || errdefs.IsInvalidArgument(err) {
				t.Errorf("error %q: want %q, not an invalid argument", err, tt.is)
			}
			assertEmptyDir(t, tmp)
		})
	}
}
