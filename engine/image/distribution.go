package image

import (
	"context"
	"database/sql"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
)

// A BlobSource says that a layer's compressed blob is in a repository of a
// registry: pulled from there or pushed there.
type BlobSource struct {
	DiffID     digest.Digest // the layer, uncompressed
	Blob       digest.Digest // the compressed blob's digest
	MediaType  string
	Size       int64 // the compressed blob's bytes
	Registry   string
	Repository string
}

// AddBlobSources records where layers' blobs are (see migration 0007).
func (s *Service) AddBlobSources(ctx context.Context, sources []BlobSource) error {
	if len(sources) == 0 {
		return nil
	}
	return s.db.RelaxedTx(ctx, func(tx *sql.Tx) error {
		for _, src := range sources {
			if _, err := tx.ExecContext(ctx, `INSERT INTO distribution (diff_id, blob, media_type, size, registry, repository)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET media_type = excluded.media_type, size = excluded.size`,
				src.DiffID.String(), src.Blob.String(), src.MediaType, src.Size, src.Registry, src.Repository); err != nil {
				return fmt.Errorf("record blob source of layer %s: %w", src.DiffID, err)
			}
		}
		return nil
	})
}

// BlobSources returns where the blobs of the layer diffID are known to be
// on registry, the repository repo's first.
func (s *Service) BlobSources(ctx context.Context, diffID digest.Digest, registry, repo string) ([]BlobSource, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT blob, media_type, size, repository FROM distribution
		WHERE diff_id = ? AND registry = ? ORDER BY repository != ?, repository`, diffID.String(), registry, repo)
	if err != nil {
		return nil, fmt.Errorf("read blob sources of layer %s: %w", diffID, err)
	}
	defer rows.Close()
	var out []BlobSource
	for rows.Next() {
		src := BlobSource{DiffID: diffID, Registry: registry}
		var blob string
		if err := rows.Scan(&blob, &src.MediaType, &src.Size, &src.Repository); err != nil {
			return nil, fmt.Errorf("read blob sources of layer %s: %w", diffID, err)
		}
		src.Blob = digest.Digest(blob)
		out = append(out, src)
	}
	return out, rows.Err()
}

// StoredLayer is one layer of a stored image, to be read uncompressed.
type StoredLayer struct {
	DiffID digest.Digest
	Size   int64 // bytes of the uncompressed tar
	Open   func() (io.ReadCloser, error)
}

// Layers returns the config blob of image id and its layers, bottom
// first, as a push reads them.
func (s *Service) Layers(ctx context.Context, id digest.Digest) ([]byte, []StoredLayer, error) {
	config, err := s.content.ReadAll(id)
	if err != nil {
		return nil, nil, fmt.Errorf("image %s: read config: %w", ShortID(id), err)
	}
	chain, err := s.layerChain(ctx, s.db.Read(), id)
	if err != nil {
		return nil, nil, err
	}
	layers := make([]StoredLayer, 0, len(chain))
	for _, l := range chain {
		size, err := s.content.Info(l.blob)
		if err != nil {
			return nil, nil, fmt.Errorf("image %s: layer %s: %w", ShortID(id), l.diffID, err)
		}
		blob := l.blob
		layers = append(layers, StoredLayer{
			DiffID: l.diffID,
			Size:   size,
			Open:   func() (io.ReadCloser, error) { return s.content.Open(blob) },
		})
	}
	return config, layers, nil
}
