package dockerapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/volume"

	"github.com/skiff-dev/skiff/engine"
)

type volumeRoutes struct {
	b ContainerBackend
}

func (r *volumeRoutes) register(e *echo.Echo) {
	e.GET("/volumes", r.list)
	e.POST("/volumes/create", r.create)
	e.GET("/volumes/:name", r.inspect)
	e.DELETE("/volumes/:name", r.remove)
}

func toVolume(v *engine.Volume) volume.Volume {
	labels := v.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return volume.Volume{
		Name: v.Name, Driver: "local", Mountpoint: v.Path, Scope: "local",
		CreatedAt: v.Created.Format(time.RFC3339), Labels: labels, Options: map[string]string{},
	}
}

// GET /volumes?filters= with docker's filters: name (a regular expression,
// as moby matches it), label (key or key=value), dangling (not used by any
// container), driver.
func (r *volumeRoutes) list(c echo.Context) error {
	f, err := parseFilters(c.QueryParam("filters"), "name", "label", "dangling", "driver")
	if err != nil {
		return err
	}
	match, err := volumeMatcher(f)
	if err != nil {
		return err
	}
	vols, err := r.b.VolumeList(c.Request().Context())
	if err != nil {
		return err
	}
	out := volume.ListResponse{Volumes: []volume.Volume{}, Warnings: []string{}}
	for _, v := range vols {
		if match(v) {
			out.Volumes = append(out.Volumes, toVolume(v))
		}
	}
	return WriteJSON(c, http.StatusOK, out)
}

func volumeMatcher(f filters) (func(*engine.Volume) bool, error) {
	var names []*regexp.Regexp
	for _, n := range f["name"] {
		re, err := regexp.Compile(n)
		if err != nil {
			re = regexp.MustCompile(regexp.QuoteMeta(n))
		}
		names = append(names, re)
	}
	dangling, err := f.boolean("dangling")
	if err != nil {
		return nil, err
	}
	return func(v *engine.Volume) bool {
		switch {
		case len(names) > 0 && !slices.ContainsFunc(names, func(re *regexp.Regexp) bool { return re.MatchString(v.Name) }):
			return false
		case len(f["driver"]) > 0 && !slices.Contains(f["driver"], "local"):
			return false
		case dangling != nil && *dangling != (len(v.UsedBy) == 0):
			return false
		}
		for _, l := range f["label"] {
			k, want, withValue := strings.Cut(l, "=")
			if got, ok := v.Labels[k]; !ok || (withValue && got != want) {
				return false
			}
		}
		return true
	}, nil
}

func (r *volumeRoutes) create(c echo.Context) error {
	var req volume.CreateRequest
	if err := json.NewDecoder(c.Request().Body).Decode(&req); err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid JSON: %v", err))
	}
	if req.Driver != "" && req.Driver != "local" {
		return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("plugin %q not found", req.Driver))
	}
	v, err := r.b.VolumeCreate(c.Request().Context(), req.Name, req.Labels)
	if err != nil {
		return err
	}
	return WriteJSON(c, http.StatusCreated, toVolume(v))
}

func (r *volumeRoutes) inspect(c echo.Context) error {
	v, err := r.b.VolumeInspect(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return WriteJSON(c, http.StatusOK, toVolume(v))
}

func (r *volumeRoutes) remove(c echo.Context) error {
	if err := r.b.VolumeRemove(c.Request().Context(), c.Param("name"), boolParam(c, "force")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
