package dockerapi

import (
	"net/http"
	"runtime"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/system"
)

type systemRoutes struct {
	b       Backend
	version string
}

// ping answers the docker CLI's first call. The headers matter more than
// the body: they carry the API version and OS the client negotiates with.
func (r *systemRoutes) ping(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Builder-Version", "1")
	h.Set("Docker-Experimental", "false")
	h.Set("Swarm", "inactive")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	if c.Request().Method == http.MethodHead {
		h.Set(echo.HeaderContentType, "text/plain; charset=utf-8")
		h.Set(echo.HeaderContentLength, "0")
		return c.NoContent(http.StatusOK)
	}
	return c.String(http.StatusOK, "OK")
}

func (r *systemRoutes) versionInfo(c echo.Context) error {
	info, err := r.b.Info(c.Request().Context())
	if err != nil {
		return err
	}
	details := map[string]string{
		"ApiVersion":    MaxAPIVersion,
		"MinAPIVersion": MinAPIVersion,
		"GitCommit":     "",
		"GoVersion":     runtime.Version(),
		"Os":            runtime.GOOS,
		"Arch":          runtime.GOARCH,
		"KernelVersion": info.KernelVersion,
		"Experimental":  "false",
		"BuildTime":     "",
	}
	return WriteJSON(c, http.StatusOK, system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "skiff " + r.version},
		Version:       r.version,
		APIVersion:    MaxAPIVersion,
		MinAPIVersion: MinAPIVersion,
		Os:            runtime.GOOS,
		Arch:          runtime.GOARCH,
		GoVersion:     runtime.Version(),
		KernelVersion: info.KernelVersion,
		Components:    []system.ComponentVersion{{Name: "Engine", Version: r.version, Details: details}},
	})
}

func (r *systemRoutes) info(c echo.Context) error {
	info, err := r.b.Info(c.Request().Context())
	if err != nil {
		return err
	}
	resp := system.Info{
		ID:                info.ID,
		Containers:        info.Containers,
		ContainersRunning: info.ContainersRunning,
		ContainersPaused:  info.ContainersPaused,
		ContainersStopped: info.ContainersStopped,
		Images:            info.Images,
		Driver:            info.StorageDriver,
		DriverStatus:      [][2]string{{"Backing Filesystem", info.BackingFilesystem}},
		SystemTime:        time.Now().Format(time.RFC3339Nano),
		LoggingDriver:     "json-file",
		CgroupDriver:      "cgroupfs",
		CgroupVersion:     info.CgroupVersion,
		KernelVersion:     info.KernelVersion,
		OperatingSystem:   info.OperatingSystem,
		OSType:            "linux",
		Architecture:      info.Architecture,
		NCPU:              info.NCPU,
		MemTotal:          info.MemTotal,
		DockerRootDir:     info.DataRoot,
		Name:              info.Name,
		Labels:            []string{},
		ServerVersion:     r.version,
		Runtimes:          map[string]system.RuntimeWithStatus{},
		DefaultRuntime:    "skiff",
		SecurityOptions:   []string{},
		Swarm:             swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive},
		Warnings:          []string{},
	}
	resp.IndexServerAddress = indexServerAddress
	resp.RegistryConfig = registryServiceConfig(r.b.RegistryConfig())
	return WriteJSON(c, http.StatusOK, resp)
}
