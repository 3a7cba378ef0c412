package dockerapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/containerd/errdefs"
	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"

	"github.com/skiff-dev/skiff/engine"
)

// GET /containers/{id}/top
func (r *containerRoutes) top(c echo.Context) error {
	titles, rows, err := r.b.ContainerTop(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	if rows == nil {
		rows = [][]string{}
	}
	return WriteJSON(c, http.StatusOK, container.TopResponse{Titles: titles, Processes: rows})
}

// GET /containers/{id}/changes
func (r *containerRoutes) changes(c echo.Context) error {
	changes, err := r.b.ContainerChanges(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	out := make([]container.FilesystemChange, 0, len(changes))
	for _, ch := range changes {
		out = append(out, container.FilesystemChange{Path: ch.Path, Kind: container.ChangeType(ch.Kind)})
	}
	return WriteJSON(c, http.StatusOK, out)
}

// GET /containers/{id}/export
func (r *containerRoutes) export(c echo.Context) error {
	w := &lazyTarWriter{c: c}
	err := r.b.ContainerExport(c.Request().Context(), c.Param("id"), w)
	if err != nil && c.Response().Committed {
		panic(http.ErrAbortHandler) // never a truncated archive that looks whole
	}
	if err == nil && !c.Response().Committed {
		w.Write(nil)
	}
	return err
}

// POST /commit?container=&repo=&tag=&comment=&author=&changes=&pause=
func commitHandler(b ContainerBackend) echo.HandlerFunc {
	return func(c echo.Context) error {
		opts := engine.ContainerCommitOptions{
			Comment: c.QueryParam("comment"),
			Author:  c.QueryParam("author"),
			Changes: c.QueryParams()["changes"],
			Pause:   c.QueryParam("pause") == "" || boolParam(c, "pause"),
		}
		if repo := c.QueryParam("repo"); repo != "" {
			opts.Tag = repo
			if tag := c.QueryParam("tag"); tag != "" {
				opts.Tag += ":" + tag
			}
		}
		if c.Request().ContentLength > 0 {
			var cfg container.Config
			if err := json.NewDecoder(c.Request().Body).Decode(&cfg); err != nil {
				return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid JSON: %v", err))
			}
			if len(cfg.Cmd) > 0 || len(cfg.Entrypoint) > 0 || len(cfg.Env) > 0 {
				opts.Config = &cfg
			}
		}
		id, err := b.ContainerCommit(c.Request().Context(), c.QueryParam("container"), opts)
		if err != nil {
			return err
		}
		return WriteJSON(c, http.StatusCreated, container.CommitResponse{ID: id.String()})
	}
}

// GET /containers/{id}/stats?stream=&one-shot=
func (r *containerRoutes) stats(c echo.Context) error {
	ctx := c.Request().Context()
	stream := c.QueryParam("stream") == "" || boolParam(c, "stream")
	resp := c.Response()
	enc := json.NewEncoder(resp)
	var prev *container.StatsResponse
	for {
		ctr, st, err := r.b.ContainerStats(ctx, c.Param("id"))
		if err != nil {
			if resp.Committed {
				return nil
			}
			return err
		}
		out := statsResponse(ctr, st)
		if prev != nil {
			out.PreCPUStats, out.PreRead = prev.CPUStats, prev.Read
		}
		if !resp.Committed {
			resp.Header().Set(echo.HeaderContentType, "application/json")
			resp.WriteHeader(http.StatusOK)
		}
		if err := enc.Encode(out); err != nil || !stream {
			return nil
		}
		resp.Flush()
		prev = &out
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func statsResponse(ctr *engine.Container, st engine.ContainerStats) container.StatsResponse {
	return container.StatsResponse{
		ID: ctr.ID, Name: "/" + ctr.Name, OSType: "linux", Read: st.Read,
		CPUStats: container.CPUStats{
			CPUUsage:    container.CPUUsage{TotalUsage: st.CPUUsage, PercpuUsage: st.CPUPerCore},
			SystemUsage: st.SystemCPU,
			OnlineCPUs:  uint32(st.OnlineCPUs),
		},
		MemoryStats: container.MemoryStats{Usage: st.MemoryUsage, Limit: st.MemoryLimit, Stats: st.MemoryStats},
		PidsStats:   container.PidsStats{Current: st.PidsCurrent, Limit: st.PidsLimit},
		NumProcs:    0,
	}
}

// mountPoints are a container's Mounts as docker inspect shows them: binds
// with rprivate propagation, volumes of the local driver.
func mountPoints(ctr *engine.Container) []container.MountPoint {
	out := make([]container.MountPoint, 0, len(ctr.Mounts))
	for _, m := range ctr.Mounts {
		mp := container.MountPoint{
			Type: mount.Type(m.Type), Name: m.Name, Source: m.Source, Destination: m.Destination,
			Mode: m.Mode, RW: m.RW,
		}
		if m.Type == "bind" {
			mp.Propagation = mount.PropagationRPrivate
		} else {
			mp.Driver = "local"
		}
		out = append(out, mp)
	}
	return out
}
