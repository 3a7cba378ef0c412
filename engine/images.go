package engine

import (
	"context"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/image"
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
	return e.images.Tag(ctx, source, target)
}

// ImageDelete removes a tag or an image with Docker's rules.
func (e *Engine) ImageDelete(ctx context.Context, ref string, force, prune bool) ([]ImageDeleteRecord, error) {
	return e.images.Delete(ctx, ref, force, prune)
}

// ImageImport creates an image from a root filesystem tarball.
func (e *Engine) ImageImport(ctx context.Context, r io.Reader, opts ImageImportOptions) (digest.Digest, error) {
	return e.images.Import(ctx, r, opts)
}

// ImageLoad stores the images of a docker-archive or OCI layout tarball.
func (e *Engine) ImageLoad(ctx context.Context, r io.Reader) ([]ImageLoadResult, error) {
	return e.images.Load(ctx, r)
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
