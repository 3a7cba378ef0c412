package build

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/store"
)

// stepCache remembers which image a step made on which parent, as the
// classic builder's cache does: a step is reused when its parent image and
// its key (see stepKey) are the same.
type stepCache struct{ db *store.DB }

// stepKey describes a step for the cache: its instruction as run (after
// variable expansion), plus whatever else decides its result that the
// parent image does not: the build args a RUN sees, the checksum of the
// files a COPY or ADD copies.
func stepKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		// Length-prefixed, so that no two lists of parts hash the same.
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// lookup returns the image a step with key made on parent, or "" if none
// is cached.
func (c stepCache) lookup(ctx context.Context, parent digest.Digest, key string) (digest.Digest, error) {
	var id string
	err := c.db.Read().QueryRowContext(ctx, `SELECT image_id FROM build_cache WHERE parent = ? AND key = ?`,
		parent.String(), key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up the build cache: %w", err)
	}
	return digest.Digest(id), nil
}

// store records that the step with key made image on parent.
func (c stepCache) store(ctx context.Context, parent digest.Digest, key string, image digest.Digest) error {
	return c.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO build_cache (parent, key, image_id) VALUES (?, ?, ?)
			ON CONFLICT (parent, key) DO UPDATE SET image_id = excluded.image_id`,
			parent.String(), key, image.String())
		if err != nil && strings.Contains(err.Error(), "FOREIGN KEY") {
			return nil // the image was removed meanwhile: nothing to remember
		}
		if err != nil {
			return fmt.Errorf("record step in the build cache: %w", err)
		}
		return nil
	})
}
