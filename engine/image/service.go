// Package image is skiff's image store: OCI images made of a config blob and
// a stack of layers, their tags, and their classic parent/child lineage.
//
// Three places hold an image, and this package keeps them consistent:
//
//   - the content store (engine/content) holds the config blob, whose digest is
//     the image ID, and each layer's uncompressed tar;
//   - the layer store (engine/layer) holds each layer unpacked, once per chain
//     ID, for overlayfs;
//   - SQLite (engine/store) holds the rows that say which of those files are in
//     use: images, layers, tags, and the containers that use a layer.
//
// Creating an image writes the files first, in temporary places (ingest
// files, unpack directories), then, holding s.mu, moves them into place and
// inserts the rows in one transaction. Deleting an image removes its rows in
// one transaction, then, still holding s.mu, the files no row refers to any
// more. A crash between the two steps leaves files that no row names; Open's
// garbage collection removes them. So no row ever names a missing file, and
// no file outlives its last row for longer than a restart.
package image

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/content"
	"github.com/skiff-dev/skiff/engine/layer"
	"github.com/skiff-dev/skiff/engine/store"
)

// Service is the image store.
type Service struct {
	db      *store.DB
	content *content.Store
	layers  *layer.Store
	tmpDir  string
	log     *slog.Logger
	now     func() time.Time

	// mu serialises every step that links files and rows: committing new
	// blobs, layers and image rows, and deleting them. The slow work (reading,
	// hashing, unpacking) happens outside it.
	mu sync.Mutex
	// reading holds the layers being read by a Register.
	reading inflight
	// bases caches ContainerBase's answers by image ID (digest.Digest ->
	// *ContainerBase); deleteImage drops an image's.
	bases sync.Map
}

// Config is what New needs.
type Config struct {
	DB      *store.DB
	Content *content.Store
	Layers  *layer.Store
	// TmpDir holds archives being loaded; it must be on the data root's
	// filesystem.
	TmpDir string
	Logger *slog.Logger
}

// New returns the image service. Call GC once before serving requests.
func New(cfg Config) (*Service, error) {
	if err := os.MkdirAll(cfg.TmpDir, 0o700); err != nil {
		return nil, fmt.Errorf("create image temp dir: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		db:      cfg.DB,
		content: cfg.Content,
		layers:  cfg.Layers,
		tmpDir:  cfg.TmpDir,
		log:     log,
		now:     time.Now,
	}, nil
}

// Platform is the only platform this daemon runs images for.
func Platform() (os, arch string) { return "linux", runtime.GOARCH }

// LayerPaths returns the directories of an image's layers, top first, the
// order overlayfs wants for lowerdir.
func (s *Service) LayerPaths(ctx context.Context, id digest.Digest) ([]string, error) {
	chain, err := s.layerChain(ctx, s.db.Read(), id)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(chain))
	for i, l := range chain {
		paths[len(chain)-1-i] = s.layers.Path(l.chainID)
	}
	return paths, nil
}

// layerRow is one row of the layers table.
type layerRow struct {
	chainID digest.Digest
	diffID  digest.Digest
	parent  digest.Digest
	blob    digest.Digest
	size    int64
}

// layerChain returns an image's layers, bottom first.
func (s *Service) layerChain(ctx context.Context, q store.Querier, id digest.Digest) ([]layerRow, error) {
	var top sql.NullString
	err := q.QueryRowContext(ctx, `SELECT top_layer FROM images WHERE id = ?`, id.String()).Scan(&top)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id.String())
	}
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w", id, err)
	}
	var chain []layerRow
	next := top.String
	for next != "" {
		l, err := readLayer(ctx, q, digest.Digest(next))
		if err != nil {
			return nil, err
		}
		chain = append([]layerRow{l}, chain...)
		next = l.parent.String()
	}
	return chain, nil
}

func readLayer(ctx context.Context, q store.Querier, chainID digest.Digest) (layerRow, error) {
	var l layerRow
	var parent sql.NullString
	var diffID, blob string
	err := q.QueryRowContext(ctx, `SELECT diff_id, parent, blob, size FROM layers WHERE chain_id = ?`, chainID.String()).
		Scan(&diffID, &parent, &blob, &l.size)
	if err != nil {
		return l, fmt.Errorf("read layer %s: %w", chainID, err)
	}
	l.chainID, l.diffID, l.parent, l.blob = chainID, digest.Digest(diffID), digest.Digest(parent.String), digest.Digest(blob)
	return l, nil
}

// GC removes blobs and layer directories that no row refers to: what a crash
// between writing files and committing rows (or between deleting rows and
// files) left behind. It must run before the service is used concurrently.
func (s *Service) GC(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	usedBlobs, err := s.stringSet(ctx, `SELECT id FROM images UNION SELECT blob FROM layers`)
	if err != nil {
		return err
	}
	usedLayers, err := s.stringSet(ctx, `SELECT chain_id FROM layers`)
	if err != nil {
		return err
	}
	var removedBlobs, removedLayers int
	err = s.content.Walk(func(d digest.Digest) error {
		if usedBlobs[d.String()] {
			return nil
		}
		removedBlobs++
		return s.content.Delete(d)
	})
	if err != nil {
		return fmt.Errorf("collect blobs: %w", err)
	}
	err = s.layers.Walk(func(chainID digest.Digest) error {
		if usedLayers[chainID.String()] {
			delete(usedLayers, chainID.String())
			return nil
		}
		removedLayers++
		return s.layers.Remove(chainID)
	})
	if err != nil {
		return fmt.Errorf("collect layers: %w", err)
	}
	for chainID := range usedLayers {
		s.log.Warn("layer directory is missing; images using it cannot run", "layer", chainID)
	}
	if removedBlobs+removedLayers > 0 {
		s.log.Info("removed unreferenced files", "blobs", removedBlobs, "layers", removedLayers)
	}
	return nil
}

func (s *Service) stringSet(ctx context.Context, query string) (map[string]bool, error) {
	rows, err := s.db.Read().QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", query, err)
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		set[v] = true
	}
	return set, rows.Err()
}

// TopLayer returns the chain ID of an image's top layer ("" for an image
// without layers). A container records it to keep the layers it runs on.
func (s *Service) TopLayer(ctx context.Context, id digest.Digest) (digest.Digest, error) {
	var top sql.NullString
	err := s.db.Read().QueryRowContext(ctx, `SELECT top_layer FROM images WHERE id = ?`, id.String()).Scan(&top)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound(id.String())
	}
	if err != nil {
		return "", fmt.Errorf("read image %s: %w", ShortID(id), err)
	}
	return digest.Digest(top.String), nil
}

// ContainerBase is what a container of an image is made from: the image's
// config and its top layer. Both are fixed by the image's ID, the digest
// of its config.
type ContainerBase struct {
	Config   dockerspec.DockerOCIImage
	TopLayer digest.Digest
}

// ContainerBase returns the ContainerBase of the image id, which callers
// must not modify. It is kept in memory once read: every container create
// would otherwise read and decode the image's config.
func (s *Service) ContainerBase(ctx context.Context, id digest.Digest) (*ContainerBase, error) {
	if b, ok := s.bases.Load(id); ok {
		return b.(*ContainerBase), nil
	}
	top, err := s.TopLayer(ctx, id)
	if err != nil {
		return nil, err
	}
	cfg, err := s.config(id)
	if err != nil {
		return nil, err
	}
	b := &ContainerBase{Config: cfg, TopLayer: top}
	s.bases.Store(id, b)
	return b, nil
}

// ChainPaths returns the directories of the layer top and the layers below
// it, top first (overlayfs's lowerdir order). It works from the layers alone,
// so a container keeps running after rmi -f removed its image.
func (s *Service) ChainPaths(ctx context.Context, top digest.Digest) ([]string, error) {
	var paths []string
	for next := top; next != ""; {
		l, err := readLayer(ctx, s.db.Read(), next)
		if err != nil {
			return nil, err
		}
		paths = append(paths, s.layers.Path(next))
		next = l.parent
	}
	return paths, nil
}

// ReleaseLayers deletes the layer top and those below it that nothing
// refers to any more: called when a container that kept them is removed
// (its image may have been deleted with rmi -f meanwhile).
func (s *Service) ReleaseLayers(ctx context.Context, top digest.Digest) error {
	if top == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var removed []layerRow
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		removed, err = deleteUnusedLayers(ctx, tx, top)
		return err
	})
	if err != nil {
		return err
	}
	var blobs, chains []digest.Digest
	for _, l := range removed {
		blobs, chains = append(blobs, l.blob), append(chains, l.chainID)
	}
	s.removeUnreferenced(ctx, blobs, chains)
	return nil
}

// TempDir is a directory on the data root's filesystem for the image
// service's callers' temporary files (a pull's downloading blobs).
func (s *Service) TempDir() string { return s.tmpDir }
