package image

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/distribution/reference"
)

// Tag points target (repository[:tag], default tag latest) at the image
// source names. A tag that pointed at another image moves.
func (s *Service) Tag(ctx context.Context, source, target string) error {
	tag, err := ParseTag(target)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.Resolve(ctx, source)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := setTag(ctx, tx, tag, id)
		return err
	})
}

// Untag removes one tag. It never deletes an image; see Delete for that.
func (s *Service) untag(ctx context.Context, tx *sql.Tx, tag reference.NamedTagged) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE repo = ? AND tag = ?`, tag.Name(), tag.Tag()); err != nil {
		return fmt.Errorf("untag %s: %w", reference.FamiliarString(tag), err)
	}
	return nil
}
