package image

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/content"
	"github.com/skiff-dev/skiff/engine/ctxio"
	"github.com/skiff-dev/skiff/engine/layer"
	"github.com/skiff-dev/skiff/engine/store"
)

// newLayer is a layer read and unpacked into temporary places, not yet
// committed.
type newLayer struct {
	blob     *content.Writer
	unpacked *layer.Pending
	layers   *layer.Store
}

func (l *newLayer) diffID() digest.Digest { return l.blob.Digest() }

// discard removes the temporary files; it is a no-op after commit moved them.
func (l *newLayer) discard() {
	l.blob.Close()
	l.layers.Discard(l.unpacked)
}

// ingestLayer reads one uncompressed layer tar from r, storing its bytes as a
// blob and unpacking it, in one pass. Three goroutines share the work, so
// that it spreads over the cores: one reads r (for a pull, decompressing
// the download), one hashes and writes the blob, and this one unpacks.
func (s *Service) ingestLayer(ctx context.Context, r io.Reader) (*newLayer, error) {
	w, err := s.content.NewWriter()
	if err != nil {
		return nil, err
	}
	src := ctxio.ReadAhead(r)
	defer src.Close()
	blob := ctxio.AsyncWriter(w)
	tee := io.TeeReader(src, blob)
	p, err := s.layers.Unpack(ctx, tee)
	if err == nil {
		// The tar reader stops at the end-of-archive marker; the blob must
		// hold every byte, padding included, to hash to the diff ID.
		_, err = io.Copy(io.Discard, tee)
	}
	if blobErr := blob.Close(); err == nil && blobErr != nil {
		err = fmt.Errorf("store layer: %w", blobErr)
	}
	if err != nil {
		w.Close()
		if p != nil {
			s.layers.Discard(p)
		}
		return nil, err
	}
	return &newLayer{blob: w, unpacked: p, layers: s.layers}, nil
}

// discardAll discards the layers that are not nil.
func discardAll(layers []*newLayer) {
	for _, l := range layers {
		if l != nil {
			l.discard()
		}
	}
}

// newImage is an image to commit: its config, and for each entry of the
// config's rootfs.diff_ids either a freshly ingested layer or nil, meaning
// the layer must already be in the store.
type newImage struct {
	config []byte
	layers []*newLayer
	parent digest.Digest
	tags   []reference.NamedTagged
}

// movedTag reports a tag that pointed at another image before a commit.
type movedTag struct {
	tag      string
	previous digest.Digest
}

// commit moves an image's files into place and records it, atomically with
// respect to deletions (see the package comment). The new layers are
// committed or discarded, never left in temporary places.
func (s *Service) commit(ctx context.Context, img newImage) (digest.Digest, []movedTag, error) {
	defer discardAll(img.layers)
	var cfg dockerspec.DockerOCIImage
	if err := json.Unmarshal(img.config, &cfg); err != nil {
		return "", nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid image config: %v", err))
	}
	diffIDs := cfg.RootFS.DiffIDs
	if len(img.layers) != len(diffIDs) {
		return "", nil, fmt.Errorf("image config lists %d layers, %d given: %w", len(diffIDs), len(img.layers), errdefs.ErrInvalidArgument)
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	var written written
	id, moved, err := s.commitLocked(ctx, img, cfg, &written)
	if err != nil {
		// Nothing names what this commit wrote: take it away again.
		s.removeUnreferenced(ctx, written.blobs, written.layers)
		return "", nil, err
	}
	return id, moved, nil
}

// written lists the files a commit moved into place, for undoing it.
type written struct {
	blobs  []digest.Digest
	layers []digest.Digest
}

func (s *Service) commitLocked(ctx context.Context, img newImage, cfg dockerspec.DockerOCIImage, w *written) (digest.Digest, []movedTag, error) {
	rows := make([]layerRow, len(cfg.RootFS.DiffIDs))
	var parentChain digest.Digest
	var size int64
	for i, diffID := range cfg.RootFS.DiffIDs {
		chainID := layer.ChainID(parentChain, diffID)
		row, err := s.placeLayer(ctx, chainID, parentChain, diffID, img.layers[i], w)
		if err != nil {
			return "", nil, fmt.Errorf("layer %d (%s): %w", i+1, diffID, err)
		}
		rows[i] = row
		size += row.size
		parentChain = chainID
	}
	id, _, err := s.content.Ingest(ctx, bytes.NewReader(img.config), "")
	if err != nil {
		return "", nil, fmt.Errorf("store image config: %w", err)
	}
	w.blobs = append(w.blobs, id)

	var moved []movedTag
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, r := range rows {
			if _, err := tx.ExecContext(ctx, `INSERT INTO layers(chain_id, diff_id, parent, blob, size, created_at)
				VALUES (?, ?, NULLIF(?, ''), ?, ?, ?) ON CONFLICT(chain_id) DO NOTHING`,
				r.chainID.String(), r.diffID.String(), r.parent.String(), r.blob.String(), r.size, s.now().UnixNano()); err != nil {
				return fmt.Errorf("record layer %s: %w", r.chainID, err)
			}
		}
		labels, err := json.Marshal(cfg.Config.Labels)
		if err != nil {
			return err
		}
		if cfg.Config.Labels == nil {
			labels = []byte("{}")
		}
		var created int64
		if cfg.Created != nil {
			created = cfg.Created.UnixNano()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO images(id, parent_id, top_layer, created, size, os, architecture, labels, added_at)
			VALUES (?, NULLIF(?, ''), NULLIF(?, ''), ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
			id.String(), img.parent.String(), parentChain.String(), created, size, cfg.OS, cfg.Architecture, string(labels), s.now().UnixNano()); err != nil {
			return fmt.Errorf("record image %s: %w", ShortID(id), err)
		}
		for _, t := range img.tags {
			prev, err := setTag(ctx, tx, t, id)
			if err != nil {
				return err
			}
			if prev != "" && prev != id {
				moved = append(moved, movedTag{tag: reference.FamiliarString(t), previous: prev})
			}
		}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return id, moved, nil
}

// placeLayer makes sure layer chainID is in place, committing l if given,
// and returns its row.
func (s *Service) placeLayer(ctx context.Context, chainID, parent, diffID digest.Digest, l *newLayer, w *written) (layerRow, error) {
	existing, err := readLayer(ctx, s.db.Read(), chainID)
	if err == nil && s.layers.Exists(chainID) {
		return existing, nil
	}
	if l == nil {
		return layerRow{}, fmt.Errorf("layer is not in the store: %w", errdefs.ErrNotFound)
	}
	if l.diffID() != diffID {
		return layerRow{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"layer content does not match the image config: config says %s, content hashes to %s", diffID, l.diffID()))
	}
	blob, err := l.blob.Commit(diffID)
	if err != nil {
		return layerRow{}, err
	}
	w.blobs = append(w.blobs, blob)
	if err := s.layers.Commit(l.unpacked, chainID); err != nil {
		return layerRow{}, err
	}
	w.layers = append(w.layers, chainID)
	return layerRow{chainID: chainID, diffID: diffID, parent: parent, blob: blob, size: l.unpacked.Size()}, nil
}

// setTag points tag at id and returns the image it pointed at before, if any.
func setTag(ctx context.Context, tx *sql.Tx, tag reference.NamedTagged, id digest.Digest) (digest.Digest, error) {
	var prev string
	err := tx.QueryRowContext(ctx, `SELECT image_id FROM tags WHERE repo = ? AND tag = ?`, tag.Name(), tag.Tag()).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read tag %s: %w", reference.FamiliarString(tag), err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tags(repo, tag, image_id) VALUES (?, ?, ?)
		ON CONFLICT(repo, tag) DO UPDATE SET image_id = excluded.image_id`,
		tag.Name(), tag.Tag(), id.String()); err != nil {
		return "", fmt.Errorf("tag %s: %w", reference.FamiliarString(tag), err)
	}
	return digest.Digest(prev), nil
}

// removeUnreferenced deletes those of the given blobs and layer directories
// that no row refers to. The caller holds s.mu. Failures are logged, not
// returned: the next start's GC retries them.
func (s *Service) removeUnreferenced(ctx context.Context, blobs, layers []digest.Digest) {
	q := s.db.Read()
	for _, chainID := range layers {
		if referenced(ctx, q, `SELECT 1 FROM layers WHERE chain_id = ?`, chainID) {
			continue
		}
		if err := s.layers.Remove(chainID); err != nil {
			s.log.Warn("remove layer", "layer", chainID, "err", err)
		}
	}
	for _, d := range blobs {
		if referenced(ctx, q, `SELECT 1 FROM images WHERE id = ?1 UNION ALL SELECT 1 FROM layers WHERE blob = ?1`, d) {
			continue
		}
		if err := s.content.Delete(d); err != nil {
			s.log.Warn("remove blob", "blob", d, "err", err)
		}
	}
}

// referenced reports whether query (with d as its argument) finds a row. On
// a database error it answers true: keeping a file is always safe.
func referenced(ctx context.Context, q store.Querier, query string, d digest.Digest) bool {
	var one int
	err := q.QueryRowContext(ctx, query+" LIMIT 1", d.String()).Scan(&one)
	return !errors.Is(err, sql.ErrNoRows)
}
