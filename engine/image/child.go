package image

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ChildOptions describe an image made on top of a parent: one build step or
// a container commit.
type ChildOptions struct {
	// Parent is the image this one builds on; "" starts from scratch.
	Parent digest.Digest
	// Layer is an uncompressed tar of the step's file changes, with OCI
	// whiteouts for deletions; nil makes a config-only image.
	Layer io.Reader
	// Config is the new image's runtime config, whole (not a change).
	Config dockerspec.DockerOCIImageConfig
	// CreatedBy, Comment and Author describe the step in the history.
	CreatedBy string
	Comment   string
	Author    string
	Tags      []reference.NamedTagged
}

// CreateChild stores a new image whose parent is opts.Parent: the parent's
// layers and history plus this step's. This is what gives images their
// lineage.
func (s *Service) CreateChild(ctx context.Context, opts ChildOptions) (digest.Digest, error) {
	cfg := dockerspec.DockerOCIImage{}
	if opts.Parent != "" {
		raw, err := s.content.ReadAll(opts.Parent)
		if err != nil {
			return "", fmt.Errorf("read parent image %s: %w", ShortID(opts.Parent), err)
		}
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return "", fmt.Errorf("parse parent image %s: %w", ShortID(opts.Parent), err)
		}
	} else {
		cfg.OS, cfg.Architecture = Platform()
		cfg.RootFS.Type = "layers"
	}
	now := s.now().UTC()
	cfg.Created = &now
	cfg.Author = opts.Author
	cfg.Config = opts.Config
	cfg.RootFS.DiffIDs = slices.Clone(cfg.RootFS.DiffIDs)
	layers := make([]*newLayer, len(cfg.RootFS.DiffIDs))
	h := ocispec.History{Created: &now, CreatedBy: opts.CreatedBy, Comment: opts.Comment, Author: opts.Author, EmptyLayer: opts.Layer == nil}
	if opts.Layer != nil {
		l, err := s.ingestLayer(ctx, opts.Layer)
		if err != nil {
			return "", err
		}
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.diffID())
		layers = append(layers, l)
	}
	cfg.History = append(slices.Clone(cfg.History), h)
	config, err := json.Marshal(cfg)
	if err != nil {
		discardAll(layers)
		return "", fmt.Errorf("encode image config: %w", err)
	}
	id, _, err := s.commit(ctx, newImage{config: config, layers: layers, parent: opts.Parent, tags: opts.Tags})
	return id, err
}
