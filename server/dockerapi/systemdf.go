package dockerapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/containerd/errdefs"
	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/api/types/volume"

	"github.com/skiff-dev/skiff/engine"
)

// diskUsageResponse is GET /system/df's answer below API 1.52 (the docker
// 28 CLI's): the objects themselves, the CLI adds them up. A kind that was
// not asked for is null, as moby sends it.
type diskUsageResponse struct {
	LayersSize int64
	Images     []image.Summary
	Containers []container.Summary
	Volumes    []volume.Volume
	BuildCache []build.CacheRecord
}

// GET /system/df?type=container&type=image&type=volume&type=build-cache
// (API 1.42; no type measures everything). skiff's builder caches steps as
// images, which the images already count, so its build cache is empty.
func (r *systemRoutes) diskUsage(c echo.Context) error {
	opts, buildCache, err := diskUsageKinds(c)
	if err != nil {
		return err
	}
	du := &engine.DiskUsage{}
	if opts != (engine.DiskUsageOptions{}) {
		if du, err = r.b.DiskUsage(c.Request().Context(), opts); err != nil {
			return err
		}
	}
	out := toDiskUsageResponse(du, opts, time.Now())
	if buildCache {
		out.BuildCache = []build.CacheRecord{}
	}
	return WriteJSON(c, http.StatusOK, out)
}

// diskUsageKinds reads which kinds of objects to measure from the type
// parameters: all of them when there are none.
func diskUsageKinds(c echo.Context) (opts engine.DiskUsageOptions, buildCache bool, err error) {
	types := c.QueryParams()["type"]
	if len(types) == 0 || compareVersions(apiVersion(c), "1.42") < 0 {
		return engine.DiskUsageOptions{Images: true, Containers: true, Volumes: true}, true, nil
	}
	for _, t := range types {
		switch system.DiskUsageObject(t) {
		case system.ContainerObject:
			opts.Containers = true
		case system.ImageObject:
			opts.Images = true
		case system.VolumeObject:
			opts.Volumes = true
		case system.BuildCacheObject:
			buildCache = true
		default:
			return opts, false, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("unknown object type: %s", t))
		}
	}
	return opts, buildCache, nil
}

func toDiskUsageResponse(du *engine.DiskUsage, opts engine.DiskUsageOptions, now time.Time) diskUsageResponse {
	out := diskUsageResponse{LayersSize: du.LayersSize}
	if opts.Images {
		out.Images = make([]image.Summary, 0, len(du.Images))
		for _, img := range du.Images {
			out.Images = append(out.Images, toImageSummary(img.ImageSummary, img.SharedSize))
		}
	}
	if opts.Containers {
		out.Containers = make([]container.Summary, 0, len(du.Containers))
		for _, ctr := range du.Containers {
			s := toContainerSummary(ctr.Container, now)
			s.SizeRw = ctr.SizeRw
			out.Containers = append(out.Containers, s)
		}
	}
	if opts.Volumes {
		out.Volumes = make([]volume.Volume, 0, len(du.Volumes))
		for _, v := range du.Volumes {
			vol := toVolume(v.Volume)
			vol.UsageData = &volume.UsageData{Size: v.Size, RefCount: int64(len(v.UsedBy))}
			out.Volumes = append(out.Volumes, vol)
		}
	}
	return out
}
