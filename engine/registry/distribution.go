package registry

import (
	"context"

	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/image"
)

// recordPulled notes where the layers of a pulled image came from, so a
// later push to that registry finds them there, or mounts them from there
// into another repository, instead of uploading them. The record is a
// hint: failing to write it fails nothing.
func recordPulled(ctx context.Context, store *image.Service, named reference.Named, img v1.Image) {
	manifest, err := img.Manifest()
	if err != nil {
		return
	}
	cfg, err := img.ConfigFile()
	if err != nil || len(cfg.RootFS.DiffIDs) != len(manifest.Layers) {
		return
	}
	var sources []image.BlobSource
	for i, l := range manifest.Layers {
		sources = append(sources, image.BlobSource{
			DiffID:     digest.Digest(cfg.RootFS.DiffIDs[i].String()),
			Blob:       digest.Digest(l.Digest.String()),
			MediaType:  string(l.MediaType),
			Size:       l.Size,
			Registry:   NormalizeHost(reference.Domain(named)),
			Repository: reference.Path(named),
		})
	}
	store.AddBlobSources(ctx, sources)
}
