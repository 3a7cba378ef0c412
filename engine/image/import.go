package image

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-dev/skiff/engine/compression"
)

// ImportOptions describe an image made from a root filesystem tarball.
type ImportOptions struct {
	// Source names where the tarball came from ("-" or a URL); it goes into
	// the image history as "Imported from <Source>" unless Message is set.
	Source  string
	Message string
	// Changes are Dockerfile instructions applied to the new image's config,
	// as docker import --change takes them (CMD, ENTRYPOINT, ENV, ...).
	Changes []string
	// Tag, if not nil, is pointed at the new image.
	Tag reference.NamedTagged
}

// Import creates a single-layer image from a root filesystem tarball, plain
// or compressed with gzip, bzip2, xz or zstd.
func (s *Service) Import(ctx context.Context, r io.Reader, opts ImportOptions) (digest.Digest, error) {
	cfg := dockerspec.DockerOCIImage{}
	if err := ApplyChanges(&cfg.Config, opts.Changes); err != nil {
		return "", err
	}
	plain, _, err := compression.Decompress(r)
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	defer plain.Close()
	l, err := s.ingestLayer(ctx, plain)
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}

	now := s.now().UTC()
	comment := opts.Message
	if comment == "" {
		comment = "Imported from " + opts.Source
	}
	cfg.Created = &now
	cfg.OS, cfg.Architecture = Platform()
	cfg.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{l.diffID()}}
	cfg.History = []ocispec.History{{Created: &now, Comment: comment}}
	config, err := json.Marshal(cfg)
	if err != nil {
		l.discard()
		return "", fmt.Errorf("import: encode config: %w", err)
	}
	img := newImage{config: config, layers: []*newLayer{l}}
	if opts.Tag != nil {
		img.tags = []reference.NamedTagged{opts.Tag}
	}
	id, _, err := s.commit(ctx, img)
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	return id, nil
}
