package image

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// DeleteRecord is one line of what rmi did: a tag removed or an image or
// layer deleted.
type DeleteRecord struct {
	Untagged string // familiar name:tag
	Deleted  string // sha256:… of an image or a layer chain
}

// conflictKind is a reason an image cannot be deleted. Hard conflicts cannot
// be forced; soft ones give way to force, as in Docker.
type conflictKind int

const (
	conflictDependentChild conflictKind = 1 << iota
	conflictRunningContainer
	conflictActiveReference
	conflictStoppedContainer

	conflictHard = conflictDependentChild | conflictRunningContainer
	conflictSoft = conflictActiveReference | conflictStoppedContainer
)

// DeleteConflict is why an image cannot be deleted. It is an errdefs
// conflict (HTTP 409); Blocker names the image or container in the way.
type DeleteConflict struct {
	ImageID digest.Digest
	Hard    bool
	Message string
	Blocker string
	used    bool // a container uses the image
}

func (c *DeleteConflict) Error() string {
	force := "must be forced"
	if c.Hard {
		force = "cannot be forced"
	}
	return fmt.Sprintf("conflict: unable to delete %s (%s) - %s", ShortID(c.ImageID), force, c.Message)
}

// Conflict marks the error as an errdefs conflict.
func (*DeleteConflict) Conflict() {}

// containerUsingImageError is the conflict of removing the last tag of an
// image a container uses.
type containerUsingImageError struct{ ref, container, image string }

func (e *containerUsingImageError) Error() string {
	return fmt.Sprintf("conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s", e.ref, e.container, e.image)
}

func (*containerUsingImageError) Conflict() {}

// Delete removes a tag or an image, with Docker's rules: ref naming a tag
// removes that tag, and the image too once no tag is left; ref naming an ID
// deletes the image. An image with child images or a running container
// cannot be deleted; one with other tags or a stopped container only with
// force. With prune, parents left untagged and unused are deleted as well.
func (s *Service) Delete(ctx context.Context, ref string, force, prune bool) ([]DeleteRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	id, err := s.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	tags, err := s.tagRefs(ctx, id)
	if err != nil {
		return nil, err
	}
	records := []DeleteRecord{}
	quiet := false
	if !isIDPrefix(id, ref) {
		if !force && len(tags) == 1 {
			if c, err := s.firstContainer(ctx, id, ""); err != nil {
				return nil, err
			} else if c != "" {
				return nil, &containerUsingImageError{ref: ref, container: shortHex(c), image: ShortID(id)}
			}
		}
		named, err := ParseTag(ref)
		if err != nil {
			return nil, err
		}
		if err := s.db.Tx(ctx, func(tx *sql.Tx) error { return s.untag(ctx, tx, named) }); err != nil {
			return nil, err
		}
		records = append(records, DeleteRecord{Untagged: reference.FamiliarString(named)})
		if len(tags) > 1 {
			return records, nil // other tags keep the image
		}
		quiet = true
	} else if len(tags) == 1 {
		// An ID with exactly one tag: removing the tag is part of deleting
		// the image, once nothing else stands in the way.
		mask := conflictHard
		if !force {
			mask |= conflictStoppedContainer
		}
		if c, err := s.checkConflict(ctx, id, mask); err != nil || c != nil {
			return nil, errors.Join(conflictErr(c), err)
		}
	}
	if err := s.deleteImage(ctx, id, &records, force, prune, quiet); err != nil {
		return nil, err
	}
	return records, nil
}

// conflictErr turns a possibly-nil conflict into a possibly-nil error.
func conflictErr(c *DeleteConflict) error {
	if c == nil {
		return nil
	}
	return c
}

// deleteImage deletes one image if no conflict stands in the way, then its
// parent when pruning. quiet ignores conflicts on images that are still
// tagged, have children or are used: they are simply kept.
func (s *Service) deleteImage(ctx context.Context, id digest.Digest, records *[]DeleteRecord, force, prune, quiet bool) error {
	mask := conflictHard
	if !force {
		mask |= conflictSoft
	}
	c, err := s.checkConflict(ctx, id, mask)
	if err != nil {
		return err
	}
	if c != nil {
		if quiet && (!s.isDangling(ctx, id) || c.used) {
			return nil
		}
		return c
	}
	parent, err := s.parentOf(ctx, id)
	if err != nil {
		return err
	}
	var removedLayers []layerRow
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		tags, err := s.tagRefs(ctx, id)
		if err != nil {
			return err
		}
		for _, t := range tags {
			if err := s.untag(ctx, tx, t); err != nil {
				return err
			}
			*records = append(*records, DeleteRecord{Untagged: reference.FamiliarString(t)})
		}
		var top sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT top_layer FROM images WHERE id = ?`, id.String()).Scan(&top); err != nil {
			return fmt.Errorf("read image %s: %w", ShortID(id), err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM images WHERE id = ?`, id.String()); err != nil {
			return fmt.Errorf("delete image %s: %w", ShortID(id), err)
		}
		removedLayers, err = deleteUnusedLayers(ctx, tx, digest.Digest(top.String))
		return err
	})
	if err != nil {
		return err
	}
	s.bases.Delete(id)
	*records = append(*records, DeleteRecord{Deleted: id.String()})
	blobs := []digest.Digest{id}
	chains := make([]digest.Digest, 0, len(removedLayers))
	for _, l := range removedLayers {
		*records = append(*records, DeleteRecord{Deleted: l.chainID.String()})
		blobs = append(blobs, l.blob)
		chains = append(chains, l.chainID)
	}
	s.removeUnreferenced(ctx, blobs, chains)

	if !prune || parent == "" {
		return nil
	}
	return s.deleteImage(ctx, parent, records, false, true, true)
}

// deleteUnusedLayers deletes the rows of layer top and of the layers below
// it, as long as no image, layer or container refers to them any more.
func deleteUnusedLayers(ctx context.Context, tx *sql.Tx, top digest.Digest) ([]layerRow, error) {
	var removed []layerRow
	for chainID := top; chainID != ""; {
		if referenced(ctx, tx, `SELECT 1 FROM images WHERE top_layer = ?1
			UNION ALL SELECT 1 FROM layers WHERE parent = ?1
			UNION ALL SELECT 1 FROM containers WHERE top_layer = ?1`, chainID) {
			break
		}
		l, err := readLayer(ctx, tx, chainID)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM layers WHERE chain_id = ?`, chainID.String()); err != nil {
			return nil, fmt.Errorf("delete layer %s: %w", chainID, err)
		}
		removed = append(removed, l)
		chainID = l.parent
	}
	return removed, nil
}

// checkConflict returns the first reason in mask that keeps id from being
// deleted, or nil.
func (s *Service) checkConflict(ctx context.Context, id digest.Digest, mask conflictKind) (*DeleteConflict, error) {
	q := s.db.Read()
	if mask&conflictDependentChild != 0 {
		var child string
		err := q.QueryRowContext(ctx, `SELECT id FROM images WHERE parent_id = ? LIMIT 1`, id.String()).Scan(&child)
		if err == nil {
			return &DeleteConflict{ImageID: id, Hard: true, Message: "image has dependent child images", Blocker: child}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("read children of %s: %w", ShortID(id), err)
		}
	}
	if mask&conflictRunningContainer != 0 {
		c, err := s.firstContainer(ctx, id, "running")
		if err != nil {
			return nil, err
		}
		if c != "" {
			return &DeleteConflict{ImageID: id, Hard: true, used: true, Blocker: c,
				Message: "image is being used by running container " + shortHex(c)}, nil
		}
	}
	if mask&conflictActiveReference != 0 {
		tags, err := s.tagRefs(ctx, id)
		if err != nil {
			return nil, err
		}
		if len(tags) > 0 {
			return &DeleteConflict{ImageID: id, Message: "image is referenced in multiple repositories",
				Blocker: reference.FamiliarString(tags[0])}, nil
		}
	}
	if mask&conflictStoppedContainer != 0 {
		c, err := s.firstContainer(ctx, id, "stopped")
		if err != nil {
			return nil, err
		}
		if c != "" {
			return &DeleteConflict{ImageID: id, used: true, Blocker: c,
				Message: "image is being used by stopped container " + shortHex(c)}, nil
		}
	}
	return nil, nil
}

// runningStates are the container states in which its process exists.
const runningStates = `('running', 'paused', 'restarting')`

// firstContainer returns a container using image id: any ("" state), a
// running one ("running") or a stopped one ("stopped").
func (s *Service) firstContainer(ctx context.Context, id digest.Digest, state string) (string, error) {
	query := `SELECT id FROM containers WHERE image_id = ?`
	switch state {
	case "running":
		query += ` AND status IN ` + runningStates
	case "stopped":
		query += ` AND status NOT IN ` + runningStates
	}
	var c string
	err := s.db.Read().QueryRowContext(ctx, query+` ORDER BY created_at LIMIT 1`, id.String()).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read containers of image %s: %w", ShortID(id), err)
	}
	return c, nil
}

// isDangling reports whether an image has neither tags nor children.
func (s *Service) isDangling(ctx context.Context, id digest.Digest) bool {
	return !referenced(ctx, s.db.Read(), `SELECT 1 FROM tags WHERE image_id = ?1 UNION ALL SELECT 1 FROM images WHERE parent_id = ?1`, id)
}

func (s *Service) tagRefs(ctx context.Context, id digest.Digest) ([]reference.NamedTagged, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT repo, tag FROM tags WHERE image_id = ? ORDER BY repo, tag`, id.String())
	if err != nil {
		return nil, fmt.Errorf("read tags of %s: %w", ShortID(id), err)
	}
	defer rows.Close()
	var refs []reference.NamedTagged
	for rows.Next() {
		var repo, tag string
		if err := rows.Scan(&repo, &tag); err != nil {
			return nil, err
		}
		named, err := reference.ParseNormalizedNamed(repo)
		if err != nil {
			return nil, fmt.Errorf("stored repository %q: %w", repo, err)
		}
		tagged, err := reference.WithTag(named, tag)
		if err != nil {
			return nil, fmt.Errorf("stored tag %q: %w", tag, err)
		}
		refs = append(refs, tagged)
	}
	return refs, rows.Err()
}

// isIDPrefix reports whether ref is (a prefix of) the image ID rather than a
// name, with or without the sha256: algorithm.
func isIDPrefix(id digest.Digest, ref string) bool {
	return strings.HasPrefix(id.String(), ref) || strings.HasPrefix(id.Encoded(), ref)
}

func shortHex(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
