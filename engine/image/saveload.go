package image

import (
	"context"
	"fmt"
	"io"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/archive"
	"github.com/skiff-dev/skiff/engine/layer"
)

// Save writes the images refs name as one tarball that both Docker and skiff
// load (docker-archive with an OCI layout beside it). A name without a tag
// that is a repository saves every tag of it; a tag saves that tag; an ID
// saves the image untagged.
func (s *Service) Save(ctx context.Context, w io.Writer, refs []string) error {
	images, err := s.imagesToSave(ctx, refs)
	if err != nil {
		return err
	}
	return archive.Write(ctx, w, images)
}

func (s *Service) imagesToSave(ctx context.Context, refs []string) ([]archive.Image, error) {
	var order []digest.Digest
	tagsOf := map[digest.Digest][]string{}
	add := func(id digest.Digest, tags ...string) {
		if _, seen := tagsOf[id]; !seen {
			order = append(order, id)
			tagsOf[id] = []string{}
		}
		tagsOf[id] = append(tagsOf[id], tags...)
	}
	all, err := s.allTags(ctx)
	if err != nil {
		return nil, err
	}
	for _, ref := range refs {
		if repoTags := repositoryTags(all, ref); len(repoTags) > 0 {
			for id, tags := range repoTags {
				add(id, tags...)
			}
			continue
		}
		id, err := s.Resolve(ctx, ref)
		if err != nil {
			return nil, err
		}
		if isIDPrefix(id, ref) {
			add(id)
		} else {
			tag, err := ParseTag(ref)
			if err != nil {
				return nil, err
			}
			add(id, reference.FamiliarString(tag))
		}
	}
	var images []archive.Image
	for _, id := range order {
		img, err := s.archiveImage(ctx, id, tagsOf[id])
		if err != nil {
			return nil, err
		}
		images = append(images, img)
	}
	return images, nil
}

// repositoryTags returns, when ref is a repository name without a tag or
// digest, every tag of that repository grouped by image.
func repositoryTags(all map[digest.Digest][]string, ref string) map[digest.Digest][]string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil || !reference.IsNameOnly(named) {
		return nil
	}
	prefix := reference.FamiliarName(named) + ":"
	found := map[digest.Digest][]string{}
	for id, tags := range all {
		for _, t := range tags {
			if len(t) > len(prefix) && t[:len(prefix)] == prefix {
				found[id] = append(found[id], t)
			}
		}
	}
	return found
}

func (s *Service) archiveImage(ctx context.Context, id digest.Digest, tags []string) (archive.Image, error) {
	config, err := s.content.ReadAll(id)
	if err != nil {
		return archive.Image{}, fmt.Errorf("image %s: read config: %w", ShortID(id), err)
	}
	chain, err := s.layerChain(ctx, s.db.Read(), id)
	if err != nil {
		return archive.Image{}, err
	}
	parent, err := s.parentOf(ctx, id)
	if err != nil {
		return archive.Image{}, err
	}
	img := archive.Image{Config: config, RepoTags: tags, Parent: parent}
	for _, l := range chain {
		size, err := s.content.Info(l.blob)
		if err != nil {
			return archive.Image{}, fmt.Errorf("image %s: layer %s: %w", ShortID(id), l.diffID, err)
		}
		blob := l.blob
		img.Layers = append(img.Layers, archive.Layer{
			DiffID: l.diffID,
			Size:   size,
			Open:   func() (io.ReadCloser, error) { return s.content.Open(blob) },
		})
	}
	return img, nil
}

// LoadResult says what Load did for one image.
type LoadResult struct {
	ID   digest.Digest
	Tags []string // familiar names tagged to it
	// Moved are tags that pointed at another image before, with that image.
	Moved map[string]digest.Digest
}

// Load reads a docker-archive or OCI layout tarball and stores its images.
// Layers already present are not read again; every layer read is checked
// against the diff ID its config gives. Images are stored in the archive's
// order; an error stops the load, keeping the images stored before it.
func (s *Service) Load(ctx context.Context, r io.Reader) ([]LoadResult, error) {
	a, err := archive.Read(ctx, r, s.tmpDir)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer a.Close()
	var results []LoadResult
	for _, li := range a.Images() {
		res, err := s.Register(ctx, li)
		if err != nil {
			return results, fmt.Errorf("load image %s: %w", ShortID(li.ConfigDigest), err)
		}
		results = append(results, res)
	}
	return results, nil
}

func (s *Service) readArchiveLayer(ctx context.Context, al archive.LoadLayer, diffID digest.Digest) (*newLayer, error) {
	rc, err := al.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	l, err := s.ingestLayer(ctx, rc)
	if err != nil {
		return nil, err
	}
	if l.diffID() != diffID {
		l.discard()
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"layer content does not match the image config: config says %s, content hashes to %s", diffID, l.diffID()))
	}
	return l, nil
}

// hasLayer reports whether a layer is stored, row and directory.
// StoredLayers returns how many of the first layers of an image with these
// diff IDs the store has, which Register will not read again: a chain's
// layer is stored only on top of its parent's.
func (s *Service) StoredLayers(ctx context.Context, diffIDs []digest.Digest) int {
	var chainID digest.Digest
	for i, diffID := range diffIDs {
		chainID = layer.ChainID(chainID, diffID)
		if !s.hasLayer(ctx, chainID) {
			return i
		}
	}
	return len(diffIDs)
}

func (s *Service) hasLayer(ctx context.Context, chainID digest.Digest) bool {
	_, err := readLayer(ctx, s.db.Read(), chainID)
	return err == nil && s.layers.Exists(chainID)
}

// isAncestor reports whether parent is a stored image whose layers are the
// first layers of diffIDs: only then is it a true parent of an image with
// those layers.
func (s *Service) isAncestor(ctx context.Context, parent digest.Digest, diffIDs []digest.Digest) bool {
	chain, err := s.layerChain(ctx, s.db.Read(), parent)
	if err != nil || len(chain) > len(diffIDs) {
		return false
	}
	for i, l := range chain {
		if l.diffID != diffIDs[i] {
			return false
		}
	}
	return true
}
