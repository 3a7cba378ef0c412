package archive

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/engine/ctxio"
)

// File names of the docker-archive format, beside those of the OCI layout
// (ocispec.ImageIndexFile, ocispec.ImageLayoutFile, ocispec.ImageBlobsDir).
const (
	dockerManifestFile = "manifest.json"
	repositoriesFile   = "repositories"
)

// annotationImageName is containerd's annotation for an image's full name
// (images.AnnotationImageName in containerd).
const annotationImageName = "io.containerd.image.name"

// copyBufferSize is the buffer used to copy layers into the tar.
const copyBufferSize = 1 << 20

// Image is one image to save.
type Image struct {
	Config   []byte        // raw config JSON; its sha256 is the image ID
	Layers   []Layer       // bottom to top
	RepoTags []string      // familiar form, e.g. "busybox:latest", "myrepo/app:v1"; may be empty
	Parent   digest.Digest // the image's parent image ID, or ""
}

// Layer is one uncompressed layer tar.
type Layer struct {
	DiffID digest.Digest // sha256 of the tar
	Size   int64         // its length in bytes
	Open   func() (io.ReadCloser, error)
}

// dockerManifestItem is one image in a docker-archive manifest.json.
type dockerManifestItem struct {
	Config       string
	RepoTags     []string
	Layers       []string
	Parent       digest.Digest                        `json:",omitempty"`
	LayerSources map[digest.Digest]ocispec.Descriptor `json:",omitempty"`
}

// Write writes images as one tar to w, in the combined docker-archive and
// OCI layout format that Docker 25+ writes (see the package documentation).
// Blobs shared by several images are written once.
//
// manifest.json lists one entry per image (RepoTags, Config
// "blobs/sha256/<hex>", Layers ["blobs/sha256/<hex>", ...], Parent when set);
// repositories maps repo → tag → image ID hex; index.json has one OCI
// manifest descriptor per tag (annotations io.containerd.image.name with the
// full normalized name and org.opencontainers.image.ref.name with the tag),
// or one without annotations for an untagged image.
//
// Images are checked before anything is written; a bad one (unparsable tag,
// config whose rootfs.diff_ids differ from the layers) is an
// errdefs.ErrInvalidArgument error. A layer whose bytes do not hash to DiffID
// or whose length is not Size is an errdefs.ErrDataLoss error. The index and
// manifests are written last, so on any error what was written to w is not
// a loadable archive and must be discarded.
func Write(ctx context.Context, w io.Writer, images []Image) error {
	saved := make([]savedImage, 0, len(images))
	for _, img := range images {
		s, err := prepareImage(img)
		if err != nil {
			return fmt.Errorf("save image %s: %w", digest.FromBytes(img.Config), err)
		}
		saved = append(saved, s)
	}

	aw := newArchiveWriter(w)
	for _, img := range saved {
		if err := aw.writeImageBlobs(ctx, img); err != nil {
			return fmt.Errorf("save image %s: %w", img.id, err)
		}
	}
	if err := aw.writeMetadata(saved); err != nil {
		return err
	}
	if err := aw.tw.Close(); err != nil {
		return fmt.Errorf("finish archive: %w", err)
	}
	return nil
}

// savedImage is an Image checked and ready to be written.
type savedImage struct {
	id             digest.Digest // of the config
	config         []byte
	layers         []Layer
	refs           []reference.NamedTagged
	parent         digest.Digest
	manifest       []byte // OCI image manifest
	manifestDigest digest.Digest
}

func prepareImage(img Image) (savedImage, error) {
	if err := checkConfig(img.Config, img.Layers); err != nil {
		return savedImage{}, err
	}
	for i, l := range img.Layers {
		if err := checkLayer(l); err != nil {
			return savedImage{}, fmt.Errorf("layer %d: %w", i, err)
		}
	}
	refs, err := parseRepoTags(img.RepoTags)
	if err != nil {
		return savedImage{}, err
	}
	if img.Parent != "" {
		if err := img.Parent.Validate(); err != nil {
			return savedImage{}, invalidf("invalid parent image ID %q: %w", img.Parent, err)
		}
	}
	s := savedImage{
		id:     digest.FromBytes(img.Config),
		config: img.Config,
		layers: img.Layers,
		refs:   refs,
		parent: img.Parent,
	}
	s.manifest, err = ociManifest(s)
	if err != nil {
		return savedImage{}, err
	}
	s.manifestDigest = digest.FromBytes(s.manifest)
	return s, nil
}

// checkConfig checks that config is JSON and, when it lists
// rootfs.diff_ids, that they are the layers' DiffIDs: docker load refuses
// an image where they differ.
func checkConfig(config []byte, layers []Layer) error {
	if len(config) == 0 {
		return invalidf("empty image config")
	}
	diffIDs, listed, err := configDiffIDs(config)
	if err != nil {
		return err
	}
	if !listed {
		return nil
	}
	if len(diffIDs) != len(layers) {
		return invalidf("config lists %d layers, %d given", len(diffIDs), len(layers))
	}
	for i, l := range layers {
		if l.DiffID != diffIDs[i] {
			return invalidf("layer %d: DiffID %s, config lists %s", i, l.DiffID, diffIDs[i])
		}
	}
	return nil
}

func checkLayer(l Layer) error {
	if err := l.DiffID.Validate(); err != nil {
		return invalidf("invalid DiffID %q: %w", l.DiffID, err)
	}
	if l.Size < 0 {
		return invalidf("layer %s: negative size %d", l.DiffID, l.Size)
	}
	if l.Open == nil {
		return invalidf("layer %s: no Open function", l.DiffID)
	}
	return nil
}

// parseRepoTags normalizes familiar names, tagging a bare name "latest" as
// docker save does, and drops repeated ones.
func parseRepoTags(repoTags []string) ([]reference.NamedTagged, error) {
	refs := make([]reference.NamedTagged, 0, len(repoTags))
	for _, repoTag := range repoTags {
		named, err := reference.ParseNormalizedNamed(repoTag)
		if err != nil {
			return nil, invalidf("invalid tag %q: %w", repoTag, err)
		}
		if _, digested := named.(reference.Digested); digested {
			return nil, invalidf("invalid tag %q: a digest reference cannot be saved as a tag", repoTag)
		}
		tagged, ok := reference.TagNameOnly(named).(reference.NamedTagged)
		if !ok {
			return nil, invalidf("invalid tag %q: no tag", repoTag)
		}
		if !slices.ContainsFunc(refs, func(r reference.NamedTagged) bool { return r.String() == tagged.String() }) {
			refs = append(refs, tagged)
		}
	}
	return refs, nil
}

func ociManifest(img savedImage) ([]byte, error) {
	layers := make([]ocispec.Descriptor, 0, len(img.layers))
	for _, l := range img.layers {
		layers = append(layers, ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageLayer,
			Digest:    l.DiffID,
			Size:      l.Size,
		})
	}
	manifest, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageConfig,
			Digest:    img.id,
			Size:      int64(len(img.config)),
		},
		Layers: layers,
	})
	if err != nil {
		return nil, fmt.Errorf("encode OCI manifest: %w", err)
	}
	return manifest, nil
}

// archiveWriter writes entries to the tar, each blob and directory once.
type archiveWriter struct {
	tw      *tar.Writer
	written map[string]bool // entry names
	buf     []byte
}

func newArchiveWriter(w io.Writer) *archiveWriter {
	return &archiveWriter{tw: tar.NewWriter(w), written: make(map[string]bool)}
}

func (aw *archiveWriter) writeImageBlobs(ctx context.Context, img savedImage) error {
	for _, l := range img.layers {
		if err := aw.writeLayer(ctx, l); err != nil {
			return err
		}
	}
	if err := aw.writeBlob(img.id, img.config); err != nil {
		return err
	}
	return aw.writeBlob(img.manifestDigest, img.manifest)
}

// writeLayer copies a layer into the tar, checking that it is Size bytes
// long and hashes to DiffID.
func (aw *archiveWriter) writeLayer(ctx context.Context, l Layer) error {
	name := blobPath(l.DiffID)
	if aw.written[name] {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rc, err := l.Open()
	if err != nil {
		return fmt.Errorf("open layer %s: %w", l.DiffID, err)
	}
	defer rc.Close()

	if err := aw.writeHeader(name, tar.TypeReg, l.Size); err != nil {
		return err
	}
	return aw.copyLayer(ctx, l, rc)
}

// copyLayer copies the content of a layer into the current entry, which
// takes l.Size bytes, and checks that they are all of it and hash to
// l.DiffID.
func (aw *archiveWriter) copyLayer(ctx context.Context, l Layer, content io.Reader) error {
	if aw.buf == nil {
		aw.buf = make([]byte, copyBufferSize)
	}
	digester := l.DiffID.Algorithm().Digester()
	limited := io.LimitReader(ctxio.Reader(ctx, content), l.Size)
	n, err := io.CopyBuffer(io.MultiWriter(aw.tw, digester.Hash()), limited, aw.buf)
	if err != nil {
		return fmt.Errorf("write layer %s: %w", l.DiffID, err)
	}
	if n < l.Size {
		return fmt.Errorf("layer %s is %d bytes, expected %d: %w", l.DiffID, n, l.Size, errdefs.ErrDataLoss)
	}
	longer, err := hasMore(content)
	if err != nil {
		return fmt.Errorf("read layer %s: %w", l.DiffID, err)
	}
	if longer {
		return fmt.Errorf("layer %s is longer than its size %d: %w", l.DiffID, l.Size, errdefs.ErrDataLoss)
	}
	if got := digester.Digest(); got != l.DiffID {
		return fmt.Errorf("layer %s content hashes to %s: %w", l.DiffID, got, errdefs.ErrDataLoss)
	}
	return nil
}

// hasMore reports whether r has bytes left.
func hasMore(r io.Reader) (bool, error) {
	n, err := io.ReadFull(r, make([]byte, 1))
	if n > 0 {
		return true, nil
	}
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	return false, err
}

func (aw *archiveWriter) writeBlob(d digest.Digest, content []byte) error {
	name := blobPath(d)
	if aw.written[name] {
		return nil
	}
	return aw.writeFile(name, content)
}

func (aw *archiveWriter) writeFile(name string, content []byte) error {
	if err := aw.writeHeader(name, tar.TypeReg, int64(len(content))); err != nil {
		return err
	}
	if _, err := aw.tw.Write(content); err != nil {
		return fmt.Errorf("write archive entry %q: %w", name, err)
	}
	return nil
}

// writeHeader writes the header of an entry, preceded by those of its parent
// directories not written yet. Times are the epoch, as docker save writes
// metadata, so that saving the same images twice gives the same bytes.
func (aw *archiveWriter) writeHeader(name string, typeflag byte, size int64) error {
	if err := aw.writeParentDirs(name); err != nil {
		return err
	}
	mode := int64(0o644)
	if typeflag == tar.TypeDir {
		mode = 0o755
	}
	hdr := &tar.Header{
		Typeflag: typeflag,
		Name:     name,
		Size:     size,
		Mode:     mode,
		ModTime:  time.Unix(0, 0),
	}
	if err := aw.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write archive entry %q: %w", name, err)
	}
	aw.written[name] = true
	return nil
}

// writeParentDirs writes the directory entries above name not written yet.
func (aw *archiveWriter) writeParentDirs(name string) error {
	parent := path.Dir(strings.TrimSuffix(name, "/"))
	if parent == "." || aw.written[parent+"/"] {
		return nil
	}
	return aw.writeHeader(parent+"/", tar.TypeDir, 0)
}

// writeMetadata writes the files that name the blobs, in docker save's
// (alphabetical) order.
func (aw *archiveWriter) writeMetadata(images []savedImage) error {
	type document struct {
		name  string
		value any
	}
	documents := []document{
		{ocispec.ImageIndexFile, ociIndex(images)},
		{dockerManifestFile, dockerManifest(images)},
		{ocispec.ImageLayoutFile, ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion}},
	}
	if repos := repositories(images); len(repos) > 0 {
		documents = append(documents, document{repositoriesFile, repos})
	}
	for _, doc := range documents {
		content, err := json.Marshal(doc.value)
		if err != nil {
			return fmt.Errorf("encode %s: %w", doc.name, err)
		}
		if err := aw.writeFile(doc.name, content); err != nil {
			return err
		}
	}
	return nil
}

func ociIndex(images []savedImage) ocispec.Index {
	manifests := []ocispec.Descriptor{}
	for _, img := range images {
		untagged := ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageManifest,
			Digest:    img.manifestDigest,
			Size:      int64(len(img.manifest)),
		}
		if len(img.refs) == 0 {
			manifests = append(manifests, untagged)
		}
		for _, ref := range img.refs {
			tagged := untagged
			tagged.Annotations = map[string]string{
				annotationImageName:       ref.String(),
				ocispec.AnnotationRefName: ref.Tag(),
			}
			manifests = append(manifests, tagged)
		}
	}
	return ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: manifests,
	}
}

func dockerManifest(images []savedImage) []dockerManifestItem {
	items := make([]dockerManifestItem, 0, len(images))
	for _, img := range images {
		item := dockerManifestItem{
			Config: blobPath(img.id),
			Layers: make([]string, 0, len(img.layers)),
			Parent: img.parent,
		}
		for _, ref := range img.refs {
			item.RepoTags = append(item.RepoTags, reference.FamiliarString(ref))
		}
		for _, l := range img.layers {
			item.Layers = append(item.Layers, blobPath(l.DiffID))
		}
		items = append(items, item)
	}
	return items
}

// repositories maps familiar repository names to tags to image ID hex.
func repositories(images []savedImage) map[string]map[string]string {
	repos := make(map[string]map[string]string)
	for _, img := range images {
		for _, ref := range img.refs {
			name := reference.FamiliarName(ref)
			if repos[name] == nil {
				repos[name] = make(map[string]string)
			}
			repos[name][ref.Tag()] = img.id.Encoded()
		}
	}
	return repos
}

// blobPath is the archive path of a blob: blobs/<alg>/<hex>.
func blobPath(d digest.Digest) string {
	return path.Join(ocispec.ImageBlobsDir, d.Algorithm().String(), d.Encoded())
}

// shortID is the 12-character form of an image ID that docker prints.
func shortID(id digest.Digest) string {
	hex := id.Encoded()
	if len(hex) > 12 {
		return hex[:12]
	}
	return hex
}
