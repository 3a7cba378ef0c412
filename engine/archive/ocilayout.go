package archive

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker's media types for the documents that OCI calls image manifest and
// image index; registries and older tools still use them.
const (
	mediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// BuildKit marks the attestation manifests it adds to an image index with
// this annotation; they are not images.
const (
	annotationDockerReferenceType = "vnd.docker.reference.type"
	attestationManifest           = "attestation-manifest"
)

// maxIndexDepth bounds the nesting of image indexes.
const maxIndexDepth = 8

// parseOCILayout reads the images that index.json points to: per entry, the
// image manifest it names or, for an image index, the one for the host
// platform. Entries naming the same manifest are merged into one image with
// several names.
func (a *Archive) parseOCILayout(ctx context.Context) ([]LoadImage, error) {
	if err := a.checkLayoutVersion(); err != nil {
		return nil, err
	}
	var index ocispec.Index
	if _, err := a.readJSON(ocispec.ImageIndexFile, &index); err != nil {
		return nil, fmt.Errorf("%s: %w", ocispec.ImageIndexFile, err)
	}

	found := manifestImages{byManifest: make(map[digest.Digest]int)}
	for i, desc := range index.Manifests {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := a.addIndexEntry(ctx, &found, desc); err != nil {
			return nil, fmt.Errorf("%s: entry %d: %w", ocispec.ImageIndexFile, i, err)
		}
	}
	if len(found.images) == 0 && len(index.Manifests) > 0 {
		return nil, invalidf("%s: no image for platform %s/%s", ocispec.ImageIndexFile, runtime.GOOS, runtime.GOARCH)
	}
	return found.images, nil
}

// manifestImages are the images found in an OCI layout, by manifest.
type manifestImages struct {
	images     []LoadImage
	byManifest map[digest.Digest]int // manifest → position in images
}

// addIndexEntry adds the image that an index.json entry names, or only its
// name if another entry named the same manifest.
func (a *Archive) addIndexEntry(ctx context.Context, found *manifestImages, desc ocispec.Descriptor) error {
	manifest, ok, err := a.selectManifest(desc, 0)
	if err != nil || !ok {
		return err
	}
	at, seen := found.byManifest[manifest.Digest]
	if !seen {
		img, err := a.loadOCIImage(ctx, manifest)
		if err != nil {
			return err
		}
		at = len(found.images)
		found.byManifest[manifest.Digest] = at
		found.images = append(found.images, img)
	}
	img := &found.images[at]
	if name, named := imageName(desc.Annotations); named && !slices.Contains(img.RepoTags, name) {
		img.RepoTags = append(img.RepoTags, name)
	}
	return nil
}

// checkLayoutVersion refuses an oci-layout file of an unknown major version.
// The file is optional: some tools leave it out.
func (a *Archive) checkLayoutVersion() error {
	if !a.exists(ocispec.ImageLayoutFile) {
		return nil
	}
	var layout ocispec.ImageLayout
	if _, err := a.readJSON(ocispec.ImageLayoutFile, &layout); err != nil {
		return fmt.Errorf("%s: %w", ocispec.ImageLayoutFile, err)
	}
	if !strings.HasPrefix(layout.Version, "1.") {
		return invalidf("%s: unsupported image layout version %q", ocispec.ImageLayoutFile, layout.Version)
	}
	return nil
}

// selectManifest returns the image manifest that desc stands for: itself, or
// the host platform's in the index it names. found is false when there is
// none for the host platform.
func (a *Archive) selectManifest(desc ocispec.Descriptor, depth int) (manifest ocispec.Descriptor, found bool, err error) {
	mediaType, err := a.mediaTypeOf(desc)
	if err != nil {
		return ocispec.Descriptor{}, false, err
	}
	switch {
	case isManifestType(mediaType):
		if desc.Platform != nil && !isHostPlatform(*desc.Platform) {
			return ocispec.Descriptor{}, false, nil
		}
		return desc, true, nil
	case isIndexType(mediaType):
		if depth >= maxIndexDepth {
			return ocispec.Descriptor{}, false, invalidf("image index %s: indexes nested deeper than %d", desc.Digest, maxIndexDepth)
		}
		return a.selectFromIndex(desc, depth+1)
	default:
		return ocispec.Descriptor{}, false, invalidf("%s: unsupported media type %q", desc.Digest, mediaType)
	}
}

// selectFromIndex returns the first manifest for the host platform in the
// index that desc names.
func (a *Archive) selectFromIndex(desc ocispec.Descriptor, depth int) (ocispec.Descriptor, bool, error) {
	var index ocispec.Index
	if _, err := a.readBlobJSON(desc, &index); err != nil {
		return ocispec.Descriptor{}, false, fmt.Errorf("image index %s: %w", desc.Digest, err)
	}
	for _, child := range index.Manifests {
		if child.Annotations[annotationDockerReferenceType] == attestationManifest {
			continue
		}
		if child.Platform == nil {
			platform, known, err := a.manifestPlatform(child)
			if err != nil {
				return ocispec.Descriptor{}, false, fmt.Errorf("image index %s: %w", desc.Digest, err)
			}
			if known {
				child.Platform = &platform
			}
		}
		manifest, found, err := a.selectManifest(child, depth)
		if err != nil {
			return ocispec.Descriptor{}, false, fmt.Errorf("image index %s: %w", desc.Digest, err)
		}
		if found {
			return manifest, true, nil
		}
	}
	return ocispec.Descriptor{}, false, nil
}

// manifestPlatform reads the platform of an image manifest from its config,
// for an index entry that does not state it. known is false for a descriptor
// that is not an image manifest.
func (a *Archive) manifestPlatform(desc ocispec.Descriptor) (platform ocispec.Platform, known bool, err error) {
	mediaType, err := a.mediaTypeOf(desc)
	if err != nil || !isManifestType(mediaType) {
		return ocispec.Platform{}, false, err
	}
	var manifest ocispec.Manifest
	if _, err := a.readBlobJSON(desc, &manifest); err != nil {
		return ocispec.Platform{}, false, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	if _, err := a.readBlobJSON(manifest.Config, &platform); err != nil {
		return ocispec.Platform{}, false, fmt.Errorf("manifest %s: config %s: %w", desc.Digest, manifest.Config.Digest, err)
	}
	return platform, true, nil
}

// mediaTypeOf returns a descriptor's media type or, when it has none, the
// one that the document it names declares or looks like.
func (a *Archive) mediaTypeOf(desc ocispec.Descriptor) (string, error) {
	if desc.MediaType != "" {
		return desc.MediaType, nil
	}
	var doc struct {
		MediaType string          `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
		Config    json.RawMessage `json:"config"`
	}
	if _, err := a.readBlobJSON(desc, &doc); err != nil {
		return "", fmt.Errorf("%s: %w", desc.Digest, err)
	}
	switch {
	case doc.MediaType != "":
		return doc.MediaType, nil
	case doc.Manifests != nil:
		return ocispec.MediaTypeImageIndex, nil
	case doc.Config != nil:
		return ocispec.MediaTypeImageManifest, nil
	default:
		return "", nil
	}
}

func isManifestType(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageManifest || mediaType == mediaTypeDockerManifest
}

func isIndexType(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageIndex || mediaType == mediaTypeDockerManifestList
}

func isHostPlatform(p ocispec.Platform) bool {
	return p.OS == runtime.GOOS && p.Architecture == runtime.GOARCH
}

// loadOCIImage reads an image manifest, its config and its layers.
func (a *Archive) loadOCIImage(ctx context.Context, desc ocispec.Descriptor) (LoadImage, error) {
	var manifest ocispec.Manifest
	if _, err := a.readBlobJSON(desc, &manifest); err != nil {
		return LoadImage{}, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	config, err := a.readBlobJSON(manifest.Config, nil)
	if err != nil {
		return LoadImage{}, fmt.Errorf("manifest %s: config %s: %w", desc.Digest, manifest.Config.Digest, err)
	}
	if err := verifyConfigDigest(config, manifest.Config.Digest); err != nil {
		return LoadImage{}, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	img := LoadImage{ConfigDigest: digest.FromBytes(config), Config: config}
	for _, layerDesc := range manifest.Layers {
		if err := ctx.Err(); err != nil {
			return LoadImage{}, err
		}
		layer, err := a.ociLayer(layerDesc)
		if err != nil {
			return LoadImage{}, fmt.Errorf("manifest %s: layer %s: %w", desc.Digest, layerDesc.Digest, err)
		}
		img.Layers = append(img.Layers, layer)
	}
	if err := checkLayerCount(img); err != nil {
		return LoadImage{}, err
	}
	return img, nil
}

func (a *Archive) ociLayer(desc ocispec.Descriptor) (LoadLayer, error) {
	if err := desc.Digest.Validate(); err != nil {
		return LoadLayer{}, invalidf("invalid digest %q: %w", desc.Digest, err)
	}
	file, size, err := a.regularFile(blobPath(desc.Digest))
	if err != nil {
		return LoadLayer{}, err
	}
	if size != desc.Size {
		return LoadLayer{}, invalidf("%d bytes, descriptor says %d", size, desc.Size)
	}
	return LoadLayer{Open: layerOpener(file), Digest: desc.Digest}, nil
}

// readBlobJSON reads the JSON blob that desc names, checking its size, and
// decodes it into v unless v is nil. Its digest was checked when spooled.
func (a *Archive) readBlobJSON(desc ocispec.Descriptor, v any) ([]byte, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, invalidf("invalid digest %q: %w", desc.Digest, err)
	}
	name := blobPath(desc.Digest)
	data, err := a.readJSONFile(name)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != desc.Size {
		return nil, invalidf("%d bytes, descriptor says %d", len(data), desc.Size)
	}
	if v == nil {
		return data, nil
	}
	if err := decodeJSON(data, v); err != nil {
		return nil, err
	}
	return data, nil
}

// imageName returns an image's name from its index annotations, in familiar
// form when it parses: containerd's full name, or the OCI reference name when
// it is a full reference rather than a bare tag (which names no repository).
func imageName(annotations map[string]string) (string, bool) {
	if name := annotations[annotationImageName]; name != "" {
		return familiarName(name), true
	}
	if name := annotations[ocispec.AnnotationRefName]; strings.ContainsAny(name, "/:@") {
		return familiarName(name), true
	}
	return "", false
}

func familiarName(name string) string {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return name
	}
	return reference.FamiliarString(named)
}
