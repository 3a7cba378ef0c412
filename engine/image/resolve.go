package image

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/store"
)

// notFound is Docker's "No such image" error, which its CLI and users know.
func notFound(ref string) error {
	return errdefs.ErrNotFound.WithMessage("No such image: " + ref)
}

// hexPrefix matches an image ID or a prefix of one. Like every regular
// expression of skiff's packages, it is compiled on first use: each process
// of the binary (every CLI command, monitor and container init) would
// otherwise compile them all as it starts.
var hexPrefix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(sha256:)?[a-f0-9]{1,64}$`) })

// ShortID is the 12-hex-character form of an image ID that users see.
func ShortID(id digest.Digest) string {
	e := id.Encoded()
	if len(e) > 12 {
		return e[:12]
	}
	return e
}

// Resolve finds the image a user means by ref, as Docker does: a full ID
// (sha256:…), then a repository tag (a missing tag means latest), then an
// unambiguous ID prefix.
func (s *Service) Resolve(ctx context.Context, ref string) (digest.Digest, error) {
	return s.resolve(ctx, s.db.Read(), ref)
}

func (s *Service) resolve(ctx context.Context, q store.Querier, ref string) (digest.Digest, error) {
	if ref == "" {
		return "", errdefs.ErrInvalidArgument.WithMessage("image reference is empty")
	}
	if d, err := digest.Parse(ref); err == nil {
		if d.Algorithm() != digest.SHA256 {
			return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("unsupported digest algorithm in %q", ref))
		}
		if err := existsImage(ctx, q, d); err != nil {
			return "", err
		}
		return d, nil
	}
	named, parseErr := reference.ParseNormalizedNamed(ref)
	if parseErr == nil {
		if _, isDigested := named.(reference.Digested); isDigested {
			// Repository digests arrive with the registry; until then none
			// is stored locally.
			return "", notFound(reference.FamiliarString(named))
		}
		tagged := reference.TagNameOnly(named).(reference.NamedTagged)
		id, err := lookupTag(ctx, q, tagged)
		if err == nil {
			return id, nil
		}
		if !errdefs.IsNotFound(err) {
			return "", err
		}
	}
	if hexPrefix().MatchString(ref) {
		id, err := s.searchPrefix(ctx, q, strings.TrimPrefix(ref, "sha256:"))
		if err == nil || !errdefs.IsNotFound(err) {
			return id, err
		}
	}
	if parseErr != nil {
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference format %q: %v", ref, parseErr))
	}
	return "", notFound(reference.FamiliarString(reference.TagNameOnly(named)))
}

func existsImage(ctx context.Context, q store.Querier, id digest.Digest) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM images WHERE id = ?`, id.String()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(id.String())
	}
	if err != nil {
		return fmt.Errorf("read image %s: %w", id, err)
	}
	return nil
}

func lookupTag(ctx context.Context, q store.Querier, ref reference.NamedTagged) (digest.Digest, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT image_id FROM tags WHERE repo = ? AND tag = ?`, ref.Name(), ref.Tag()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound(reference.FamiliarString(ref))
	}
	if err != nil {
		return "", fmt.Errorf("read tag %s: %w", reference.FamiliarString(ref), err)
	}
	return digest.Digest(id), nil
}

// searchPrefix finds the one image whose ID starts with prefix (hex).
func (s *Service) searchPrefix(ctx context.Context, q store.Querier, prefix string) (digest.Digest, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM images WHERE id >= ? AND id < ? ORDER BY id LIMIT 2`,
		"sha256:"+prefix, "sha256:"+prefix+"g") // 'g' sorts after every hex digit
	if err != nil {
		return "", fmt.Errorf("search image ID prefix %s: %w", prefix, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return "", err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	switch len(ids) {
	case 0:
		return "", notFound(prefix)
	case 1:
		return digest.Digest(ids[0]), nil
	default:
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"image ID prefix %q is ambiguous: it matches more than one image (%s, %s, …); use more characters",
			prefix, ShortID(digest.Digest(ids[0])), ShortID(digest.Digest(ids[1]))))
	}
}

// ParseTag parses a reference to tag an image with: a repository and an
// optional tag (default latest), no digest, and not a bare image ID.
func ParseTag(ref string) (reference.NamedTagged, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference format %q: %v", ref, err))
	}
	if _, ok := named.(reference.Digested); ok {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("refusing to create a tag with a digest reference: %q", ref))
	}
	if name := reference.FamiliarName(named); len(name) == 64 && hexPrefix().MatchString(name) {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid repository name %q: it looks like an image ID", name))
	}
	return reference.TagNameOnly(named).(reference.NamedTagged), nil
}

// familiarTag renders a stored (repo, tag) pair as users write it.
func familiarTag(repo, tag string) string {
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return repo + ":" + tag
	}
	return reference.FamiliarName(named) + ":" + tag
}
