package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// newSystemCommand is the `skiff system` group.
func newSystemCommand(cc *cliContext) *cobra.Command {
	return newGroupCommand("system", "Manage skiff",
		newSystemDfCommand(cc),
		newInfoCommand(cc),
	)
}

func newSystemDfCommand(cc *cliContext) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "df [OPTIONS]",
		Short: "Show skiff disk usage",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSystemDf(cmd.Context(), cc, format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", formatHelp)
	return cmd
}

const diskUsageTableFormat = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"

var diskUsageHeaders = map[string]string{
	"Type":        "TYPE",
	"TotalCount":  "TOTAL",
	"Active":      "ACTIVE",
	"Size":        "SIZE",
	"Reclaimable": "RECLAIMABLE",
}

// runSystemDf prints one line per kind of object, as docker system df does.
func runSystemDf(ctx context.Context, cc *cliContext, format string) error {
	f := parseOutputFormat(diskUsageTableFormat)
	if format != "" && format != tableFormat {
		f = parseOutputFormat(format)
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	du, err := api.DiskUsage(ctx, client.DiskUsageOptions{})
	if err != nil {
		return err
	}
	return writeRows(cc.stdout, f, diskUsageHeaders, diskUsageRows(du))
}

// diskUsageRow is one line of `system df`; its methods are the --format
// fields.
type diskUsageRow struct {
	kind               string
	total, active      int
	size, reclaimable  int64
	reclaimablePercent bool // the build cache's line shows none
}

// diskUsageRows adds the daemon's objects up with the docker 28 CLI's rules:
//   - images: the size is every layer once; what the images in use own
//     alone (their size less what they share) is not reclaimable;
//   - containers: writable layers; a running, paused or restarting
//     container's is not reclaimable;
//   - volumes: an unknown size (-1) counts as nothing; a volume no
//     container uses is reclaimable;
//   - build cache: shared records are counted elsewhere; records in use are
//     not reclaimable.
func diskUsageRows(du client.DiskUsageResult) []*diskUsageRow {
	images := &diskUsageRow{kind: "Images", total: len(du.Images.Items), size: du.Images.TotalSize, reclaimablePercent: true}
	var imagesUsed int64
	for _, img := range du.Images.Items {
		if img.Containers > 0 {
			images.active++
		}
		if img.Containers != 0 && img.Size != -1 && img.SharedSize != -1 {
			imagesUsed += img.Size - img.SharedSize
		}
	}
	images.reclaimable = images.size - imagesUsed

	containers := &diskUsageRow{kind: "Containers", total: len(du.Containers.Items), reclaimablePercent: true}
	for _, c := range du.Containers.Items {
		containers.size += c.SizeRw
		switch c.State {
		case container.StateRunning, container.StatePaused, container.StateRestarting:
			containers.active++
		default:
			containers.reclaimable += c.SizeRw
		}
	}

	volumes := &diskUsageRow{kind: "Local Volumes", total: len(du.Volumes.Items), reclaimablePercent: true}
	for _, v := range du.Volumes.Items {
		if v.UsageData == nil {
			continue
		}
		if v.UsageData.RefCount > 0 {
			volumes.active++
		}
		if v.UsageData.Size == -1 {
			continue
		}
		volumes.size += v.UsageData.Size
		if v.UsageData.RefCount == 0 {
			volumes.reclaimable += v.UsageData.Size
		}
	}

	cache := &diskUsageRow{kind: "Build Cache", total: len(du.BuildCache.Items)}
	for _, r := range du.BuildCache.Items {
		if r.InUse {
			cache.active++
		}
		if r.Shared {
			continue
		}
		cache.size += r.Size
		if !r.InUse {
			cache.reclaimable += r.Size
		}
	}
	return []*diskUsageRow{images, containers, volumes, cache}
}

func (r *diskUsageRow) Type() string       { return r.kind }
func (r *diskUsageRow) TotalCount() string { return strconv.Itoa(r.total) }
func (r *diskUsageRow) Active() string     { return strconv.Itoa(r.active) }
func (r *diskUsageRow) Size() string       { return units.HumanSize(float64(r.size)) }

// Reclaimable is the size with its share of the total, e.g. "1.2MB (40%)".
func (r *diskUsageRow) Reclaimable() string {
	s := units.HumanSize(float64(r.reclaimable))
	if r.reclaimablePercent && r.size > 0 {
		s += fmt.Sprintf(" (%d%%)", r.reclaimable*100/r.size)
	}
	return s
}

func (r *diskUsageRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"Type":        r.Type(),
		"TotalCount":  r.TotalCount(),
		"Active":      r.Active(),
		"Size":        r.Size(),
		"Reclaimable": r.Reclaimable(),
	})
}
