package dockerapi

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/containerd/errdefs"
	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/engine"
)

// ParseBuildOptions reads a build's options from the query parameters of
// POST /build, as the docker CLI encodes them (moby's client/image_build.go);
// POST /skiff/builds takes the same ones. The resource and network options of
// RUN containers (cpu*, memory, memswap, shmsize, ulimits, networkmode,
// extrahosts, cgroupparent, isolation, securityopt) and cachefrom are
// accepted and ignored: older CLIs send them all, even when empty.
func ParseBuildOptions(c echo.Context) (engine.BuildOptions, error) {
	q := c.QueryParams()
	switch {
	case q.Get("remote") != "":
		return engine.BuildOptions{}, errdefs.ErrInvalidArgument.WithMessage(
			"remote build contexts are not supported: send the context as a tar in the request body")
	case boolParam(c, "squash"):
		return engine.BuildOptions{}, errdefs.ErrInvalidArgument.WithMessage("squash is not supported")
	case q.Get("version") == "2":
		return engine.BuildOptions{}, errdefs.ErrInvalidArgument.WithMessage(
			"BuildKit is not supported: use the classic builder (DOCKER_BUILDKIT=0 docker build)")
	}

	opts := engine.BuildOptions{
		Dockerfile: q.Get("dockerfile"),
		Target:     q.Get("target"),
		NoCache:    boolParam(c, "nocache"),
		// The CLI only sends rm=0: removing intermediate containers is the
		// default.
		Remove:      q.Get("rm") == "" || boolParam(c, "rm"),
		ForceRemove: boolParam(c, "forcerm"),
		Platform:    q.Get("platform"),
	}
	for _, tag := range q["t"] {
		if tag == "" || slices.Contains(opts.Tags, tag) {
			continue
		}
		if _, err := engine.ParseImageTag(tag); err != nil {
			return engine.BuildOptions{}, err
		}
		opts.Tags = append(opts.Tags, tag)
	}
	if err := jsonParam(c, "buildargs", &opts.BuildArgs); err != nil {
		return engine.BuildOptions{}, err
	}
	if err := jsonParam(c, "labels", &opts.Labels); err != nil {
		return engine.BuildOptions{}, err
	}
	return opts, nil
}

// jsonParam decodes the JSON query parameter name into v, if present.
func jsonParam(c echo.Context, name string, v any) error {
	raw := c.QueryParam(name)
	if raw == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid %s %q: %v", name, raw, err))
	}
	return nil
}
