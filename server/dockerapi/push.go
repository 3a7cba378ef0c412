package dockerapi

import (
	"encoding/json"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/skiff-dev/skiff/engine/registry"
)

// push answers POST /images/{name}/push?tag=TAG with Docker's progress
// stream; with no tag it pushes every local tag of the repository, as
// docker push --all-tags asks. An image missing locally is a 404 before
// the stream starts.
func (r *imageRoutes) push(c echo.Context, name string) error {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference %q: %v", name, err))
	}
	creds, err := requestCredentials(c, reference.Domain(named))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var refs []string
	switch tag := c.QueryParam("tag"); {
	case tag != "":
		refs = []string{reference.FamiliarName(named) + ":" + tag}
	case !reference.IsNameOnly(named):
		refs = []string{reference.FamiliarString(named)}
	default:
		if refs, err = r.b.ImagePushTags(ctx, reference.FamiliarName(named)); err != nil {
			return err
		}
		if len(refs) == 0 {
			return errdefs.ErrNotFound.WithMessage("An image does not exist locally with the tag: " + reference.FamiliarName(named))
		}
	}
	out := newJSONStream(c)
	begin := func() error {
		if out.started {
			return nil
		}
		return out.status("The push refers to repository [" + named.Name() + "]")
	}
	opts := registry.PushOptions{Credentials: creds, Progress: func(p registry.PushProgress) {
		// A write fails only when the client is gone, which cancels the
		// request's context and so the push.
		if begin() == nil {
			out.send(pushMessage(p))
		}
	}}
	for _, ref := range refs {
		res, err := r.b.ImagePush(ctx, ref, opts)
		if err != nil {
			return out.fail(err)
		}
		if err := begin(); err != nil {
			return err
		}
		if err := out.status(fmt.Sprintf("%s: digest: %s size: %d", res.Tag, res.Digest, res.Size)); err != nil {
			return err
		}
		aux, err := json.Marshal(map[string]any{"Tag": res.Tag, "Digest": res.Digest.String(), "Size": res.Size})
		if err != nil {
			return err
		}
		raw := json.RawMessage(aux)
		if err := out.send(jsonstream.Message{Progress: &jsonstream.Progress{}, Aux: &raw}); err != nil {
			return err
		}
	}
	return nil
}

// pushMessage is a layer's step as Docker streams it: the layer by the
// short form of its diff ID, always with a progress detail.
func pushMessage(p registry.PushProgress) jsonstream.Message {
	return jsonstream.Message{
		Status:   p.Status,
		ID:       shortID(p.Layer.Encoded()),
		Progress: &jsonstream.Progress{Current: p.Current, Total: p.Total},
	}
}
