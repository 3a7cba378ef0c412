package image

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
)

// Summary is an image as listed: what SQLite knows without reading blobs.
type Summary struct {
	ID         digest.Digest
	ParentID   digest.Digest // "" when the image has no parent
	RepoTags   []string      // familiar names, e.g. busybox:latest
	Created    time.Time
	Size       int64 // all of its layers
	Labels     map[string]string
	Containers int64 // containers created from it, running or not
	Children   int64 // images whose parent it is
}

// ListOptions select images as docker images does.
type ListOptions struct {
	// All includes intermediate images: untagged ones that have children.
	All       bool
	Dangling  *bool    // true: only untagged images; false: only tagged ones
	Reference []string // patterns for the familiar name or name:tag (path.Match)
	Label     []string // "key" or "key=value"
	Before    string   // an image reference: only images created before it
	Since     string   // an image reference: only images created after it
}

// List returns images, newest first.
func (s *Service) List(ctx context.Context, opts ListOptions) ([]Summary, error) {
	all, err := s.summaries(ctx)
	if err != nil {
		return nil, err
	}
	before, since, err := s.timeBounds(ctx, all, opts)
	if err != nil {
		return nil, err
	}
	var out []Summary
	for _, img := range all {
		if len(opts.Reference) > 0 {
			img.RepoTags = matchingTags(img.RepoTags, opts.Reference)
			if len(img.RepoTags) == 0 {
				continue
			}
		}
		untagged := len(img.RepoTags) == 0
		switch {
		case untagged && img.Children > 0 && !opts.All:
			continue // an intermediate image
		case opts.Dangling != nil && *opts.Dangling != (untagged && img.Children == 0):
			continue
		case !hasLabels(img.Labels, opts.Label):
			continue
		case !before.IsZero() && !img.Created.Before(before):
			continue
		case !since.IsZero() && !img.Created.After(since):
			continue
		}
		out = append(out, img)
	}
	return out, nil
}

// summaries reads every image with its tags and counts, newest first.
func (s *Service) summaries(ctx context.Context) ([]Summary, error) {
	tags, err := s.allTags(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Read().QueryContext(ctx, `SELECT i.id, IFNULL(i.parent_id, ''), i.created, i.size, i.labels,
		(SELECT COUNT(*) FROM images c WHERE c.parent_id = i.id),
		(SELECT COUNT(*) FROM containers k WHERE k.image_id = i.id)
		FROM images i ORDER BY i.created DESC, i.id`)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	defer rows.Close()
	var out []Summary
	for rows.Next() {
		var img Summary
		var id, parent, labels string
		var created int64
		if err := rows.Scan(&id, &parent, &created, &img.Size, &labels, &img.Children, &img.Containers); err != nil {
			return nil, fmt.Errorf("list images: %w", err)
		}
		img.ID, img.ParentID, img.Created = digest.Digest(id), digest.Digest(parent), time.Unix(0, created)
		if err := json.Unmarshal([]byte(labels), &img.Labels); err != nil {
			return nil, fmt.Errorf("image %s: labels: %w", ShortID(img.ID), err)
		}
		img.RepoTags = tags[img.ID]
		if img.RepoTags == nil {
			img.RepoTags = []string{}
		}
		out = append(out, img)
	}
	return out, rows.Err()
}

// allTags maps image IDs to their familiar tags, sorted.
func (s *Service) allTags(ctx context.Context) (map[digest.Digest][]string, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT repo, tag, image_id FROM tags ORDER BY repo, tag`)
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	defer rows.Close()
	tags := map[digest.Digest][]string{}
	for rows.Next() {
		var repo, tag, id string
		if err := rows.Scan(&repo, &tag, &id); err != nil {
			return nil, err
		}
		tags[digest.Digest(id)] = append(tags[digest.Digest(id)], familiarTag(repo, tag))
	}
	return tags, rows.Err()
}

func (s *Service) timeBounds(ctx context.Context, all []Summary, opts ListOptions) (before, since time.Time, err error) {
	createdOf := func(ref string) (time.Time, error) {
		id, err := s.Resolve(ctx, ref)
		if err != nil {
			return time.Time{}, err
		}
		for _, img := range all {
			if img.ID == id {
				return img.Created, nil
			}
		}
		return time.Time{}, notFound(ref)
	}
	if opts.Before != "" {
		if before, err = createdOf(opts.Before); err != nil {
			return
		}
	}
	if opts.Since != "" {
		since, err = createdOf(opts.Since)
	}
	return
}

// matchingTags keeps the tags whose familiar name:tag or name matches one of
// the patterns, as docker images' reference filter does.
func matchingTags(tags, patterns []string) []string {
	var out []string
	for _, t := range tags {
		name, _, _ := strings.Cut(t, ":")
		if i := strings.LastIndex(t, ":"); i > strings.LastIndex(t, "/") {
			name = t[:i]
		}
		for _, p := range patterns {
			if ok, _ := path.Match(p, t); ok {
				out = append(out, t)
				break
			}
			if ok, _ := path.Match(p, name); ok {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

func hasLabels(labels map[string]string, want []string) bool {
	for _, w := range want {
		k, v, withValue := strings.Cut(w, "=")
		got, ok := labels[k]
		if !ok || (withValue && got != v) {
			return false
		}
	}
	return true
}

// Image is an image with its config, as inspected.
type Image struct {
	Summary
	Config dockerspec.DockerOCIImage
	// LayerPaths are the directories of its layers, top first.
	LayerPaths []string
	AddedAt    time.Time
}

// Inspect returns everything known about the image ref names.
func (s *Service) Inspect(ctx context.Context, ref string) (*Image, error) {
	id, err := s.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.get(ctx, id)
}

func (s *Service) get(ctx context.Context, id digest.Digest) (*Image, error) {
	img := &Image{}
	var parent, labels string
	var created, added int64
	err := s.db.Read().QueryRowContext(ctx, `SELECT IFNULL(parent_id, ''), created, size, labels, added_at,
		(SELECT COUNT(*) FROM images c WHERE c.parent_id = ?1),
		(SELECT COUNT(*) FROM containers k WHERE k.image_id = ?1)
		FROM images WHERE id = ?1`, id.String()).
		Scan(&parent, &created, &img.Size, &labels, &added, &img.Children, &img.Containers)
	if err == sql.ErrNoRows {
		return nil, notFound(id.String())
	}
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w", ShortID(id), err)
	}
	img.ID, img.ParentID = id, digest.Digest(parent)
	img.Created, img.AddedAt = time.Unix(0, created), time.Unix(0, added)
	if err := json.Unmarshal([]byte(labels), &img.Labels); err != nil {
		return nil, fmt.Errorf("image %s: labels: %w", ShortID(id), err)
	}
	if img.Config, err = s.config(id); err != nil {
		return nil, err
	}
	tags, err := s.tagsOf(ctx, id)
	if err != nil {
		return nil, err
	}
	img.RepoTags = tags
	if img.LayerPaths, err = s.LayerPaths(ctx, id); err != nil {
		return nil, err
	}
	return img, nil
}

// config reads and decodes the config blob of the image id.
func (s *Service) config(id digest.Digest) (dockerspec.DockerOCIImage, error) {
	var cfg dockerspec.DockerOCIImage
	raw, err := s.content.ReadAll(id)
	if err != nil {
		return cfg, fmt.Errorf("image %s: read config: %w", ShortID(id), err)
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return cfg, fmt.Errorf("image %s: parse config: %w", ShortID(id), err)
	}
	return cfg, nil
}

// RawConfig returns the config blob of an image, byte for byte.
func (s *Service) RawConfig(ctx context.Context, id digest.Digest) ([]byte, error) {
	return s.content.ReadAll(id)
}

func (s *Service) tagsOf(ctx context.Context, id digest.Digest) ([]string, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT repo, tag FROM tags WHERE image_id = ? ORDER BY repo, tag`, id.String())
	if err != nil {
		return nil, fmt.Errorf("read tags of %s: %w", ShortID(id), err)
	}
	defer rows.Close()
	tags := []string{}
	for rows.Next() {
		var repo, tag string
		if err := rows.Scan(&repo, &tag); err != nil {
			return nil, err
		}
		tags = append(tags, familiarTag(repo, tag))
	}
	return tags, rows.Err()
}

// HistoryItem is one entry of an image's history, newest first.
type HistoryItem struct {
	ID        string // the image this step produced, or "<missing>" when not stored locally
	Created   time.Time
	CreatedBy string
	Comment   string
	Size      int64
	Tags      []string
}

// History returns the build history of an image as docker history shows it:
// one entry per config history entry, with the IDs of the ancestor images
// that produced them, following the parent chain.
func (s *Service) History(ctx context.Context, ref string) ([]HistoryItem, error) {
	img, err := s.Inspect(ctx, ref)
	if err != nil {
		return nil, err
	}
	chain, err := s.layerChain(ctx, s.db.Read(), img.ID)
	if err != nil {
		return nil, err
	}
	var items []HistoryItem
	layerIndex := 0
	for _, h := range img.Config.History {
		item := HistoryItem{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment, Tags: []string{}}
		if h.Created != nil {
			item.Created = *h.Created
		}
		if !h.EmptyLayer && layerIndex < len(chain) {
			item.Size = chain[layerIndex].size
			layerIndex++
		}
		items = append(items, item)
	}
	slices.Reverse(items)

	// Walk up the lineage: the newest entry is this image, the next its
	// parent, and so on while parents are known.
	id := img.ID
	for i := range items {
		items[i].ID = id.String()
		tags, err := s.tagsOf(ctx, id)
		if err != nil {
			return nil, err
		}
		items[i].Tags = tags
		parent, err := s.parentOf(ctx, id)
		if err != nil {
			return nil, err
		}
		if parent == "" {
			break
		}
		id = parent
	}
	return items, nil
}

func (s *Service) parentOf(ctx context.Context, id digest.Digest) (digest.Digest, error) {
	var parent string
	err := s.db.Read().QueryRowContext(ctx, `SELECT IFNULL(parent_id, '') FROM images WHERE id = ?`, id.String()).Scan(&parent)
	if err != nil {
		return "", fmt.Errorf("read parent of %s: %w", ShortID(id), err)
	}
	return digest.Digest(parent), nil
}

// TreeNode is an image in the lineage tree.
type TreeNode struct {
	Summary
	OwnSize  int64 // bytes its layers add to its parent's
	Children []*TreeNode
}

// Tree returns the parent/child lineage of every image: the images without
// a (known) parent as roots, each child under its parent, oldest first.
func (s *Service) Tree(ctx context.Context) ([]*TreeNode, error) {
	all, err := s.summaries(ctx)
	if err != nil {
		return nil, err
	}
	slices.Reverse(all) // oldest first
	nodes := make(map[digest.Digest]*TreeNode, len(all))
	for _, img := range all {
		nodes[img.ID] = &TreeNode{Summary: img, OwnSize: img.Size}
	}
	var roots []*TreeNode
	for _, img := range all {
		n := nodes[img.ID]
		parent, ok := nodes[img.ParentID]
		if !ok {
			roots = append(roots, n)
			continue
		}
		n.OwnSize = max(n.Size-parent.Size, 0)
		parent.Children = append(parent.Children, n)
	}
	return roots, nil
}
