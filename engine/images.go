package engine

import (
	"context"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/events"
	"github.com/skiff-dev/skiff/engine/image"
	"github.com/skiff-dev/skiff/engine/registry"
)

// The image types the engine's API speaks, defined in engine/image.
type (
	ImageSummary        = image.Summary
	ImageListOptions    = image.ListOptions
	Image               = image.Image
	ImageHistoryItem    = image.HistoryItem
	ImageTreeNode       = image.TreeNode
	ImageDeleteRecord   = image.DeleteRecord
	ImageDeleteConflict = image.DeleteConflict
	ImageImportOptions  = image.ImportOptions
	ImageLoadResult     = image.LoadResult
	ImageChildOptions   = image.ChildOptions
	ImagePullOptions    = registry.Options
	ImagePullResult     = registry.Result
)

// ImageShortID is the 12-hex-character form of an image ID.
func ImageShortID(id digest.Digest) string { return image.ShortID(id) }

// ParseImageTag parses a repository[:tag] to tag an image with.
var ParseImageTag = image.ParseTag

// ImageList lists images as docker images does.
func (e *Engine) ImageList(ctx context.Context, opts ImageListOptions) ([]ImageSummary, error) {
	return e.images.List(ctx, opts)
}

// ImageInspect returns an image with its config.
func (e *Engine) ImageInspect(ctx context.Context, ref string) (*Image, error) {
	return e.images.Inspect(ctx, ref)
}

// ImageHistory returns an image's history, newest first.
func (e *Engine) ImageHistory(ctx context.Context, ref string) ([]ImageHistoryItem, error) {
	return e.images.History(ctx, ref)
}

// ImageTree returns the parent/child lineage of all images.
func (e *Engine) ImageTree(ctx context.Context) ([]*ImageTreeNode, error) {
	return e.images.Tree(ctx)
}

// ImageTag points target at the image source names.
func (e *Engine) ImageTag(ctx context.Context, source, target string) error {
	if err := e.images.Tag(ctx, source, target); err != nil {
		return err
	}
	if id, err := e.images.Resolve(ctx, target); err == nil {
		e.publishImage("tag", id.String(), target)
	}
	return nil
}

// publishImage reports an image event with its name.
func (e *Engine) publishImage(action, id, name string) {
	e.events.Publish(events.Event{Type: "image", Action: action, ID: id, Attributes: map[string]string{"name": name}})
}

// ImageDelete removes a tag or an image with Docker's rules.
func (e *Engine) ImageDelete(ctx context.Context, ref string, force, prune bool) ([]ImageDeleteRecord, error) {
	records, err := e.images.Delete(ctx, ref, force, prune)
	for _, r := range records {
		if r.Untagged != "" {
			e.publishImage("untag", ref, r.Untagged)
		} else if r.Deleted != "" {
			e.publishImage("delete", r.Deleted, ref)
		}
	}
	return records, err
}

// ImageImport creates an image from a root filesystem tarball.
func (e *Engine) ImageImport(ctx context.Context, r io.Reader, opts ImageImportOptions) (digest.Digest, error) {
	id, err := e.images.Import(ctx, r, opts)
	if err == nil {
		e.publishImage("import", id.String(), opts.Source)
	}
	return id, err
}

// ImagePull fetches an image from its registry and stores it.
func (e *Engine) ImagePull(ctx context.Context, ref string, opts ImagePullOptions) (ImagePullResult, error) {
	opts = e.registry.FillPull(opts)
	opts.Credentials = e.registryCredentials(opts.Credentials)
	res, err := registry.Pull(ctx, e.images, ref, opts)
	if err == nil {
		e.publishImage("pull", res.ID.String(), ref)
	}
	return res, err
}

// ImageLoad stores the images of a docker-archive or OCI layout tarball.
func (e *Engine) ImageLoad(ctx context.Context, r io.Reader) ([]ImageLoadResult, error) {
	results, err := e.images.Load(ctx, r)
	for _, res := range results {
		e.publishImage("load", res.ID.String(), strings.Join(res.Tags, ","))
	}
	return results, err
}

// ImageSave writes images as a tarball Docker and skiff can load.
func (e *Engine) ImageSave(ctx context.Context, w io.Writer, refs []string) error {
	return e.images.Save(ctx, w, refs)
}

// ImageCreateChild stores a new image on top of a parent (a build step or a
// commit).
func (e *Engine) ImageCreateChild(ctx context.Context, opts ImageChildOptions) (digest.Digest, error) {
	return e.images.CreateChild(ctx, opts)
}

// ImageResolve finds the ID of the image ref names.
func (e *Engine) ImageResolve(ctx context.Context, ref string) (digest.Digest, error) {
	return e.images.Resolve(ctx, ref)
}
