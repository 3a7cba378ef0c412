package dockerapi

import (
	"encoding/json"
	"fmt"
	"net/http"
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

func (r *volumeRoutes) list(c echo.Context) error {
	vols, err := r.b.VolumeList(c.Request().Context())
	if err != nil {
		return err
	}
	out := volume.ListResponse{Volumes: []volume.Volume{}, Warnings: []string{}}
	for _, v := range vols {
		out.Volumes = append(out.Volumes, toVolume(v))
	}
	return WriteJSON(c, http.StatusOK, out)
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
