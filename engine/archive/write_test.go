package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// saveFixture is three images sharing a base layer: one with two tags, one
// untagged, one tagged whose parent is the first.
type saveFixture struct {
	baseLayer               []byte
	tagged, untagged, child Image
}

func newSaveFixture(t *testing.T) saveFixture {
	t.Helper()
	base := layerTar(t, "os-release", "base")
	app := layerTar(t, "app", "app")
	extra := layerTar(t, "extra", "extra")
	more := layerTar(t, "more", "more")
	tagged := Image{
		Config:   imageConfig(t, "tagged", digest.FromBytes(base), digest.FromBytes(app)),
		Layers:   []Layer{saveLayer(base), saveLayer(app)},
		RepoTags: []string{"busybox:latest", "myrepo/app:v1"},
	}
	return saveFixture{
		baseLayer: base,
		tagged:    tagged,
		untagged: Image{
			Config: imageConfig(t, "untagged", digest.FromBytes(base), digest.FromBytes(extra)),
			Layers: []Layer{saveLayer(base), saveLayer(extra)},
		},
		child: Image{
			Config:   imageConfig(t, "child", digest.FromBytes(base), digest.FromBytes(app), digest.FromBytes(more)),
			Layers:   []Layer{saveLayer(base), saveLayer(app), saveLayer(more)},
			RepoTags: []string{"localhost:5000/team/child:2"},
			Parent:   digest.FromBytes(tagged.Config),
		},
	}
}

func (f saveFixture) images() []Image {
	return []Image{f.tagged, f.untagged, f.child}
}

func TestWriteReadRoundTrip(t *testing.T) {
	f := newSaveFixture(t)
	data := writeArchive(t, f.images()...)

	loaded := readArchive(t, data).Images()
	if len(loaded) != len(f.images()) {
		t.Fatalf("loaded %d images, want %d", len(loaded), len(f.images()))
	}
	for i, want := range f.images() {
		assertLoadedImage(t, loaded[i], want)
	}

	entryCount := make(map[string]int)
	for _, e := range readTar(t, data) {
		entryCount[e.name]++
	}
	if n := entryCount[blobName(digest.FromBytes(f.baseLayer))]; n != 1 {
		t.Errorf("shared base layer written %d times, want once", n)
	}
	for name, n := range entryCount {
		if n != 1 {
			t.Errorf("entry %q written %d times", name, n)
		}
	}
}

// assertLoadedImage compares a loaded image with the image saved.
func assertLoadedImage(t *testing.T, got LoadImage, want Image) {
	t.Helper()
	id := digest.FromBytes(want.Config)
	if got.ConfigDigest != id || !bytes.Equal(got.Config, want.Config) {
		t.Errorf("image %s: loaded config %s differs", id, got.ConfigDigest)
	}
	if !slices.Equal(got.RepoTags, want.RepoTags) {
		t.Errorf("image %s: RepoTags %q, want %q", id, got.RepoTags, want.RepoTags)
	}
	if got.Parent != want.Parent {
		t.Errorf("image %s: Parent %q, want %q", id, got.Parent, want.Parent)
	}
	if len(got.Layers) != len(want.Layers) {
		t.Fatalf("image %s: %d layers, want %d", id, len(got.Layers), len(want.Layers))
	}
	for i, l := range got.Layers {
		if d := digest.FromBytes(layerBytes(t, l)); d != want.Layers[i].DiffID {
			t.Errorf("image %s: layer %d content hashes to %s, want %s", id, i, d, want.Layers[i].DiffID)
		}
		if l.Digest != want.Layers[i].DiffID {
			t.Errorf("image %s: layer %d Digest %s, want %s", id, i, l.Digest, want.Layers[i].DiffID)
		}
	}
}

// The OCI half of the written archive must stand alone, as containerd and
// skopeo read it.
func TestWriteReadOCIIndexAlone(t *testing.T) {
	f := newSaveFixture(t)
	var ociOnly []tarEntry
	for _, e := range readTar(t, writeArchive(t, f.images()...)) {
		if e.name != dockerManifestFile && e.name != repositoriesFile {
			ociOnly = append(ociOnly, e)
		}
	}

	loaded := readArchive(t, buildTar(t, ociOnly...)).Images()
	if len(loaded) != 3 {
		t.Fatalf("loaded %d images, want 3 (tags of one image merged)", len(loaded))
	}
	withoutParent := f.child
	withoutParent.Parent = "" // only manifest.json records parents
	for i, want := range []Image{f.tagged, f.untagged, withoutParent} {
		assertLoadedImage(t, loaded[i], want)
	}
}

func TestWriteEmpty(t *testing.T) {
	data := writeArchive(t)
	files := regularFiles(t, data)
	if got := string(files[dockerManifestFile]); got != "[]" {
		t.Errorf("manifest.json = %s, want []", got)
	}
	if _, ok := files[repositoriesFile]; ok {
		t.Error("repositories written without any tag")
	}
	if images := readArchive(t, data).Images(); len(images) != 0 {
		t.Errorf("loaded %d images from an empty archive", len(images))
	}
}

func TestWriteHasDockerFiles(t *testing.T) {
	f := newSaveFixture(t)
	data := writeArchive(t, f.images()...)

	var dirs, blobs, others []string
	for _, e := range readTar(t, data) {
		switch {
		case e.typeflag == tar.TypeDir:
			dirs = append(dirs, e.name)
		case e.typeflag == tar.TypeReg && strings.HasPrefix(e.name, "blobs/sha256/"):
			blobs = append(blobs, e.name)
		case e.typeflag == tar.TypeReg:
			others = append(others, e.name)
		default:
			t.Errorf("entry %q has type %q", e.name, e.typeflag)
		}
	}
	if want := []string{"blobs/", "blobs/sha256/"}; !slices.Equal(dirs, want) {
		t.Errorf("directories %q, want %q", dirs, want)
	}
	slices.Sort(others)
	if want := []string{"index.json", "manifest.json", "oci-layout", "repositories"}; !slices.Equal(others, want) {
		t.Errorf("files outside blobs/ %q, want %q", others, want)
	}
	// 4 distinct layers, 3 configs, 3 OCI manifests.
	if len(blobs) != 10 {
		t.Errorf("%d blobs, want 10: %q", len(blobs), blobs)
	}

	files := regularFiles(t, data)
	if got, want := string(files["oci-layout"]), `{"imageLayoutVersion":"1.0.0"}`; got != want {
		t.Errorf("oci-layout = %s, want %s", got, want)
	}
	assertRepositories(t, files["repositories"], f)
	assertIndexAnnotations(t, files["index.json"], f)
}

func assertRepositories(t *testing.T, data []byte, f saveFixture) {
	t.Helper()
	var repos map[string]map[string]string
	if err := json.Unmarshal(data, &repos); err != nil {
		t.Fatalf("repositories: %v", err)
	}
	want := map[string]map[string]string{
		"busybox":                   {"latest": digest.FromBytes(f.tagged.Config).Encoded()},
		"myrepo/app":                {"v1": digest.FromBytes(f.tagged.Config).Encoded()},
		"localhost:5000/team/child": {"2": digest.FromBytes(f.child.Config).Encoded()},
	}
	if !maps.EqualFunc(repos, want, maps.Equal) {
		t.Errorf("repositories = %v, want %v", repos, want)
	}
}

func assertIndexAnnotations(t *testing.T, data []byte, f saveFixture) {
	t.Helper()
	var index ocispec.Index
	if err := json.Unmarshal(data, &index); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	if index.SchemaVersion != 2 || index.MediaType != ocispec.MediaTypeImageIndex {
		t.Errorf("index.json schemaVersion %d mediaType %q", index.SchemaVersion, index.MediaType)
	}
	want := []map[string]string{
		{annotationImageName: "docker.io/library/busybox:latest", ocispec.AnnotationRefName: "latest"},
		{annotationImageName: "docker.io/myrepo/app:v1", ocispec.AnnotationRefName: "v1"},
		nil, // the untagged image
		{annotationImageName: "localhost:5000/team/child:2", ocispec.AnnotationRefName: "2"},
	}
	if len(index.Manifests) != len(want) {
		t.Fatalf("index.json has %d manifests, want %d", len(index.Manifests), len(want))
	}
	for i, desc := range index.Manifests {
		if desc.MediaType != ocispec.MediaTypeImageManifest {
			t.Errorf("manifest %d: mediaType %q", i, desc.MediaType)
		}
		if !maps.Equal(desc.Annotations, want[i]) {
			t.Errorf("manifest %d: annotations %v, want %v", i, desc.Annotations, want[i])
		}
	}
	if index.Manifests[0].Digest != index.Manifests[1].Digest {
		t.Error("the two tags of one image name different manifests")
	}
}

// TestWriteFollowsDockerLoadRules checks the written archive the way docker
// load (image/tarexport) and containerd's importer read it.
func TestWriteFollowsDockerLoadRules(t *testing.T) {
	f := newSaveFixture(t)
	files := regularFiles(t, writeArchive(t, f.images()...))

	for name, content := range files {
		if hex, ok := strings.CutPrefix(name, "blobs/sha256/"); ok {
			if got := digest.FromBytes(content).Encoded(); got != hex {
				t.Errorf("blob %s hashes to %s", name, got)
			}
		}
	}

	var manifest []map[string]json.RawMessage
	if err := json.Unmarshal(files[dockerManifestFile], &manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	for i, raw := range manifest {
		var item dockerManifestItem
		if err := json.Unmarshal(mustJSON(t, raw), &item); err != nil {
			t.Fatalf("manifest.json item %d: %v", i, err)
		}
		checkDockerManifestItem(t, files, item)
		if _, hasParent := raw["Parent"]; hasParent != (item.Parent != "") {
			t.Errorf("manifest.json item %d: Parent key present %v with value %q", i, hasParent, item.Parent)
		}
	}
	if got := manifest[2]["Parent"]; string(got) != `"`+digest.FromBytes(f.tagged.Config).String()+`"` {
		t.Errorf("child Parent = %s, want the tagged image ID", got)
	}

	var index ocispec.Index
	if err := json.Unmarshal(files[ocispec.ImageIndexFile], &index); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	for _, desc := range index.Manifests {
		checkOCIManifest(t, files, desc)
	}
}

func checkDockerManifestItem(t *testing.T, files map[string][]byte, item dockerManifestItem) {
	t.Helper()
	config, ok := files[item.Config]
	if !ok {
		t.Fatalf("config %q is not in the archive", item.Config)
	}
	diffIDs, _, err := configDiffIDs(config)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffIDs) != len(item.Layers) {
		t.Fatalf("config %s lists %d layers, manifest.json %d", item.Config, len(diffIDs), len(item.Layers))
	}
	for i, layerPath := range item.Layers {
		layer, ok := files[layerPath]
		if !ok {
			t.Errorf("layer %q is not in the archive", layerPath)
			continue
		}
		if d := digest.FromBytes(layer); d != diffIDs[i] {
			t.Errorf("layer %q hashes to %s, config diff_id is %s", layerPath, d, diffIDs[i])
		}
	}
	for _, repoTag := range item.RepoTags {
		named, err := reference.ParseNormalizedNamed(repoTag)
		if err != nil {
			t.Errorf("RepoTag %q: %v", repoTag, err)
			continue
		}
		if _, ok := named.(reference.NamedTagged); !ok {
			t.Errorf("RepoTag %q has no tag", repoTag)
		}
		if reference.FamiliarString(named) != repoTag {
			t.Errorf("RepoTag %q is not in familiar form", repoTag)
		}
	}
}

func checkOCIManifest(t *testing.T, files map[string][]byte, desc ocispec.Descriptor) {
	t.Helper()
	content, ok := files[blobName(desc.Digest)]
	if !ok || int64(len(content)) != desc.Size {
		t.Fatalf("manifest %s missing or of the wrong size", desc.Digest)
	}
	var manifest ocispec.Manifest
	if err := json.Unmarshal(content, &manifest); err != nil {
		t.Fatalf("manifest %s: %v", desc.Digest, err)
	}
	if manifest.SchemaVersion != 2 || manifest.MediaType != ocispec.MediaTypeImageManifest {
		t.Errorf("manifest %s: schemaVersion %d mediaType %q", desc.Digest, manifest.SchemaVersion, manifest.MediaType)
	}
	if manifest.Config.MediaType != ocispec.MediaTypeImageConfig {
		t.Errorf("manifest %s: config mediaType %q", desc.Digest, manifest.Config.MediaType)
	}
	for _, blob := range append([]ocispec.Descriptor{manifest.Config}, manifest.Layers...) {
		if content, ok := files[blobName(blob.Digest)]; !ok || int64(len(content)) != blob.Size {
			t.Errorf("manifest %s: blob %s missing or of the wrong size", desc.Digest, blob.Digest)
		}
	}
	for _, layer := range manifest.Layers {
		if layer.MediaType != ocispec.MediaTypeImageLayer {
			t.Errorf("manifest %s: layer mediaType %q", desc.Digest, layer.MediaType)
		}
	}
}

func TestWriteRefusesBadImages(t *testing.T) {
	content := layerTar(t, "f", "content")
	good := saveLayer(content)
	config := imageConfig(t, "x", good.DiffID)
	withLayer := func(l Layer) Image {
		return Image{Config: config, Layers: []Layer{l}}
	}
	openFails := errors.New("layer store is gone")

	tests := []struct {
		name    string
		image   Image
		is      func(error) bool
		message string
	}{
		{
			name:    "content does not hash to DiffID",
			image:   withLayer(Layer{DiffID: good.DiffID, Size: good.Size, Open: opener(bytes.Repeat([]byte{'x'}, len(content)))}),
			is:      errdefs.IsDataLoss,
			message: "content hashes to",
		},
		{
			name:    "shorter than Size",
			image:   withLayer(Layer{DiffID: good.DiffID, Size: good.Size + 1, Open: good.Open}),
			is:      errdefs.IsDataLoss,
			message: "expected",
		},
		{
			name:    "longer than Size",
			image:   withLayer(Layer{DiffID: good.DiffID, Size: good.Size - 1, Open: good.Open}),
			is:      errdefs.IsDataLoss,
			message: "longer than its size",
		},
		{
			name:    "open fails",
			image:   withLayer(Layer{DiffID: good.DiffID, Size: good.Size, Open: func() (io.ReadCloser, error) { return nil, openFails }}),
			is:      func(err error) bool { return errors.Is(err, openFails) },
			message: "open layer",
		},
		{
			name:    "invalid tag",
			image:   Image{Config: config, Layers: []Layer{good}, RepoTags: []string{"Not A Name"}},
			is:      errdefs.IsInvalidArgument,
			message: `invalid tag "Not A Name"`,
		},
		{
			name:    "digest reference as tag",
			image:   Image{Config: config, Layers: []Layer{good}, RepoTags: []string{"busybox@" + good.DiffID.String()}},
			is:      errdefs.IsInvalidArgument,
			message: "cannot be saved as a tag",
		},
		{
			name:    "config lists other layers",
			image:   Image{Config: imageConfig(t, "x", digest.FromString("other")), Layers: []Layer{good}},
			is:      errdefs.IsInvalidArgument,
			message: "config lists",
		},
		{
			name:    "config lists fewer layers",
			image:   Image{Config: imageConfig(t, "x"), Layers: []Layer{good}},
			is:      errdefs.IsInvalidArgument,
			message: "config lists 0 layers, 1 given",
		},
		{
			name:    "config is not JSON",
			image:   Image{Config: []byte("{"), Layers: []Layer{good}},
			is:      errdefs.IsInvalidArgument,
			message: "malformed JSON",
		},
		{
			name:    "invalid parent",
			image:   Image{Config: config, Layers: []Layer{good}, Parent: "sha256:nope"},
			is:      errdefs.IsInvalidArgument,
			message: "invalid parent",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Write(context.Background(), &out, []Image{tt.image})
			if err == nil {
				t.Fatal("Write succeeded")
			}
			if !tt.is(err) || !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q: wrong class or does not mention %q", err, tt.message)
			}
			if bytes.Contains(out.Bytes(), []byte(dockerManifestFile)) {
				t.Error("a manifest.json was written despite the error")
			}
		})
	}
}

func opener(content []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(content)), nil
	}
}

func TestWriteHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Write(ctx, io.Discard, newSaveFixture(t).images())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Write with a cancelled context: %v", err)
	}
}

func TestWriteNormalizesRepoTags(t *testing.T) {
	layer := layerTar(t, "f", "tags")
	img := Image{
		Config:   imageConfig(t, "tags", digest.FromBytes(layer)),
		Layers:   []Layer{saveLayer(layer)},
		RepoTags: []string{"busybox", "busybox:latest", "docker.io/library/alpine:3"},
	}
	loaded := readArchive(t, writeArchive(t, img)).Images()
	want := []string{"busybox:latest", "alpine:3"}
	if len(loaded) != 1 || !slices.Equal(loaded[0].RepoTags, want) {
		t.Errorf("loaded %+v, want one image tagged %q", loaded, want)
	}
}
