package dockerapi

import (
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/registry"
)

// pull answers POST /images/create?fromImage=NAME[&tag=TAG] with Docker's
// progress stream. The stream starts with the first layer's step, once the
// manifest is in: an unknown image is an error status (404), as Docker's.
func (r *imageRoutes) pull(c echo.Context) error {
	named, err := pullReference(c.QueryParam("fromImage"), c.QueryParam("tag"))
	if err != nil {
		return err
	}
	// Docker names the pull by its tag or digest, and the repository by
	// its path on the registry ("library/busybox").
	var tagOrDigest string
	switch ref := named.(type) {
	case reference.Canonical:
		tagOrDigest = ref.Digest().String()
	case reference.NamedTagged:
		tagOrDigest = ref.Tag()
	}
	creds, err := requestCredentials(c, reference.Domain(named))
	if err != nil {
		return err
	}
	out := newJSONStream(c)
	begin := func() error {
		if out.started {
			return nil
		}
		return out.send(jsonstream.Message{Status: "Pulling from " + reference.Path(named), ID: tagOrDigest})
	}
	opts := engine.ImagePullOptions{Credentials: creds, Progress: func(p registry.Progress) {
		// A write fails only when the client is gone, which cancels the
		// request's context and so the pull.
		if begin() == nil {
			out.send(progressMessage(p))
		}
	}}
	res, err := r.b.ImagePull(c.Request().Context(), named.String(), opts)
	if err != nil {
		return out.fail(err)
	}
	if err := begin(); err != nil {
		return err
	}
	if err := out.status("Digest: " + res.Digest.String()); err != nil {
		return err
	}
	verdict := "Downloaded newer image for "
	if res.UpToDate {
		verdict = "Image is up to date for "
	}
	return out.status("Status: " + verdict + reference.FamiliarString(named))
}

// pullReference is the image fromImage and tag name together: tag is a tag,
// or a digest when it has one's form; "latest" when neither names one.
func pullReference(fromImage, tag string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(fromImage)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference %q: %v", fromImage, err))
	}
	if tag != "" {
		ref := reference.FamiliarName(named) + ":" + tag
		if strings.Contains(tag, ":") {
			ref = reference.FamiliarName(named) + "@" + tag
		}
		if named, err = reference.ParseNormalizedNamed(ref); err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid tag or digest %q: %v", tag, err))
		}
	}
	return reference.TagNameOnly(named), nil
}

// progressMessage is a layer's step as Docker streams it: the layer by the
// short form of its blob's digest, always with a progress detail.
func progressMessage(p registry.Progress) jsonstream.Message {
	return jsonstream.Message{
		Status:   p.Status,
		ID:       shortID(p.Layer.Encoded()),
		Progress: &jsonstream.Progress{Current: p.Current, Total: p.Total},
	}
}

func shortID(hex string) string {
	return hex[:min(len(hex), 12)]
}
