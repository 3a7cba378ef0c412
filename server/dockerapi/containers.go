package dockerapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/storage"

	"github.com/skiff-dev/skiff/engine"
)

type containerRoutes struct {
	b   ContainerBackend
	now func() time.Time
}

func (r *containerRoutes) register(e *echo.Echo) {
	e.POST("/containers/create", r.create)
	e.GET("/containers/json", r.list)
	e.GET("/containers/:id/json", r.inspect)
	e.POST("/containers/:id/start", r.start)
	e.POST("/containers/:id/stop", r.stop)
	e.POST("/containers/:id/restart", r.restart)
	e.POST("/containers/:id/kill", r.kill)
	e.POST("/containers/:id/pause", r.pause)
	e.POST("/containers/:id/unpause", r.unpause)
	e.POST("/containers/:id/rename", r.rename)
	e.POST("/containers/:id/wait", r.wait)
	e.POST("/containers/:id/resize", r.resize)
	e.POST("/containers/:id/attach", r.attach)
	e.GET("/containers/:id/logs", r.logs)
	e.GET("/containers/:id/top", r.top)
	e.GET("/containers/:id/changes", r.changes)
	e.GET("/containers/:id/export", r.export)
	e.GET("/containers/:id/stats", r.stats)
	e.POST("/commit", commitHandler(r.b))
	e.DELETE("/containers/:id", r.remove)
}

// POST /containers/create?name=
func (r *containerRoutes) create(c echo.Context) error {
	var req container.CreateRequest
	if err := json.NewDecoder(c.Request().Body).Decode(&req); err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid JSON: %v", err))
	}
	if req.Config == nil {
		return errdefs.ErrInvalidArgument.WithMessage("config cannot be empty in order to create a container")
	}
	opts := engine.ContainerCreateOptions{Name: c.QueryParam("name"), Config: req.Config, HostConfig: req.HostConfig}
	if req.NetworkingConfig != nil {
		opts.Endpoints = req.NetworkingConfig.EndpointsConfig
	}
	created, warnings, err := r.b.ContainerCreate(c.Request().Context(), opts)
	if err != nil {
		return err
	}
	return WriteJSON(c, http.StatusCreated, container.CreateResponse{ID: created.ID, Warnings: warnings})
}

// GET /containers/json
func (r *containerRoutes) list(c echo.Context) error {
	f, err := parseFilters(c.QueryParam("filters"), "id", "name", "status", "ancestor", "exited", "label", "before", "since")
	if err != nil {
		return err
	}
	opts := engine.ContainerListOptions{All: boolParam(c, "all"), Filters: f}
	if l := c.QueryParam("limit"); l != "" {
		if opts.Limit, err = strconv.Atoi(l); err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid limit %q", l))
		}
	}
	list, err := r.b.ContainerList(c.Request().Context(), opts)
	if err != nil {
		return err
	}
	now := r.now()
	out := make([]container.Summary, 0, len(list))
	for _, ctr := range list {
		out = append(out, toContainerSummary(ctr, now))
	}
	return WriteJSON(c, http.StatusOK, out)
}

// toContainerSummary is a container as GET /containers/json lists it.
func toContainerSummary(ctr *engine.Container, now time.Time) container.Summary {
	s := container.Summary{
		ID:      ctr.ID,
		Names:   []string{"/" + ctr.Name},
		Image:   ctr.Image,
		ImageID: ctr.ImageID.String(),
		Command: commandLine(ctr.Config),
		Created: ctr.Created.Unix(),
		Ports:   portSummaries(ctr),
		Labels:  ctr.Config.Labels,
		State:   ctr.State.Status,
		Status:  ctr.Status(now),
		Mounts:  []container.MountPoint{},
	}
	s.HostConfig.NetworkMode = networkMode(ctr.HostConfig)
	s.NetworkSettings = &container.NetworkSettingsSummary{Networks: networkSettings(ctr).Networks}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	return s
}

// commandLine is the COMMAND of docker ps: the arguments joined, those with
// spaces in single quotes, as moby writes it.
func commandLine(cfg *container.Config) string {
	args := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	for i, a := range args {
		if i > 0 && strings.Contains(a, " ") {
			args[i] = "'" + a + "'"
		}
	}
	return strings.Join(args, " ")
}

func networkMode(hc *container.HostConfig) string {
	if hc.NetworkMode == "" || hc.NetworkMode == "default" {
		return "bridge"
	}
	return string(hc.NetworkMode)
}

// GET /containers/{id}/json
func (r *containerRoutes) inspect(c echo.Context) error {
	ctr, err := r.b.ContainerInspect(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return WriteJSON(c, http.StatusOK, inspectContainer(ctr, r.b.ContainerDir(ctr.ID)))
}

// containerInspectResponse is docker inspect's answer, with the NetworkSettings
// older clients read (see inspectNetworkSettings).
type containerInspectResponse struct {
	container.InspectResponse
	NetworkSettings *inspectNetworkSettings
}

func inspectContainer(ctr *engine.Container, dir string) containerInspectResponse {
	st := ctr.State
	args := append(append([]string{}, ctr.Config.Entrypoint...), ctr.Config.Cmd...)
	var path string
	if len(args) > 0 {
		path, args = args[0], args[1:]
	}
	return containerInspectResponse{InspectResponse: container.InspectResponse{
		ID:      ctr.ID,
		Created: ctr.Created.Format(time.RFC3339Nano),
		Path:    path,
		Args:    args,
		State: &container.State{
			Status:     st.Status,
			Running:    st.Running() && st.Status != container.StateRestarting,
			Paused:     st.Status == container.StatePaused,
			Restarting: st.Status == container.StateRestarting,
			OOMKilled:  st.OOMKilled,
			Pid:        st.Pid,
			ExitCode:   st.ExitCode,
			Error:      st.Error,
			StartedAt:  dockerTime(st.StartedAt),
			FinishedAt: dockerTime(st.FinishedAt),
		},
		Image:          ctr.ImageID.String(),
		ResolvConfPath: filepath.Join(dir, "resolv.conf"),
		HostnamePath:   filepath.Join(dir, "hostname"),
		HostsPath:      filepath.Join(dir, "hosts"),
		LogPath:        filepath.Join(dir, "container-json.log"),
		Name:           "/" + ctr.Name,
		RestartCount:   st.RestartCount,
		Driver:         "overlayfs",
		Platform:       "linux",
		ExecIDs:        nil,
		HostConfig:     ctr.HostConfig,
		GraphDriver: &storage.DriverData{Name: "overlayfs", Data: map[string]string{
			"UpperDir": filepath.Join(dir, "upper"), "WorkDir": filepath.Join(dir, "work"),
		}},
		Mounts: mountPoints(ctr),
		Config: ctr.Config,
	}, NetworkSettings: networkSettings(ctr)}
}

// dockerTime formats a time as Docker does, with its zero time for "never".
func dockerTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// POST /containers/{id}/start
func (r *containerRoutes) start(c echo.Context) error {
	if err := r.b.ContainerStart(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func stopOptions(c echo.Context) (engine.ContainerStopOptions, error) {
	opts := engine.ContainerStopOptions{Signal: c.QueryParam("signal")}
	if t := c.QueryParam("t"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return opts, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid timeout %q", t))
		}
		opts.Timeout = &n
	}
	return opts, nil
}

// POST /containers/{id}/stop?t=&signal=
func (r *containerRoutes) stop(c echo.Context) error {
	opts, err := stopOptions(c)
	if err != nil {
		return err
	}
	if err := r.b.ContainerStop(c.Request().Context(), c.Param("id"), opts); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// POST /containers/{id}/restart?t=
func (r *containerRoutes) restart(c echo.Context) error {
	opts, err := stopOptions(c)
	if err != nil {
		return err
	}
	if err := r.b.ContainerRestart(c.Request().Context(), c.Param("id"), opts); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// POST /containers/{id}/kill?signal=
func (r *containerRoutes) kill(c echo.Context) error {
	if err := r.b.ContainerKill(c.Request().Context(), c.Param("id"), c.QueryParam("signal")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (r *containerRoutes) pause(c echo.Context) error {
	if err := r.b.ContainerPause(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (r *containerRoutes) unpause(c echo.Context) error {
	if err := r.b.ContainerUnpause(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// POST /containers/{id}/rename?name=
func (r *containerRoutes) rename(c echo.Context) error {
	if err := r.b.ContainerRename(c.Request().Context(), c.Param("id"), c.QueryParam("name")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// DELETE /containers/{id}?force=&v=
func (r *containerRoutes) remove(c echo.Context) error {
	err := r.b.ContainerRemove(c.Request().Context(), c.Param("id"), engine.ContainerRemoveOptions{
		Force: boolParam(c, "force"), Volumes: boolParam(c, "v"),
	})
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// POST /containers/{id}/wait?condition=: the headers go out at once (the
// docker CLI starts the container only after it has them), the body when
// the condition holds.
func (r *containerRoutes) wait(c echo.Context) error {
	ready := func() {
		c.Response().Header().Set(echo.HeaderContentType, "application/json")
		c.Response().WriteHeader(http.StatusOK)
		c.Response().Flush()
	}
	res, err := r.b.ContainerWait(c.Request().Context(), c.Param("id"), engine.ContainerWaitCondition(c.QueryParam("condition")), ready)
	if err != nil {
		if c.Response().Committed {
			return json.NewEncoder(c.Response()).Encode(container.WaitResponse{StatusCode: -1, Error: &container.WaitExitError{Message: err.Error()}})
		}
		return err
	}
	out := container.WaitResponse{StatusCode: int64(res.ExitCode)}
	if res.Error != "" {
		out.Error = &container.WaitExitError{Message: res.Error}
	}
	return json.NewEncoder(c.Response()).Encode(out)
}

// POST /containers/{id}/resize?h=&w=
func (r *containerRoutes) resize(c echo.Context) error {
	rows, cols, err := sizeParams(c)
	if err != nil {
		return err
	}
	if err := r.b.ContainerResize(c.Request().Context(), c.Param("id"), rows, cols); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}

func sizeParams(c echo.Context) (rows, cols uint16, err error) {
	h, errH := strconv.ParseUint(c.QueryParam("h"), 10, 16)
	w, errW := strconv.ParseUint(c.QueryParam("w"), 10, 16)
	if errH != nil || errW != nil {
		return 0, 0, errdefs.ErrInvalidArgument.WithMessage("invalid terminal size: h and w must be numbers")
	}
	return uint16(h), uint16(w), nil
}
