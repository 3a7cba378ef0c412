package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type psOptions struct {
	all     bool
	quiet   bool
	last    int
	latest  bool
	noTrunc bool
	size    bool
	format  string
	filter  filterFlag
}

func newPsCommand(cc *cliContext) *cobra.Command {
	var opts psOptions
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS]",
		Short: "List containers",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPs(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.all, "all", "a", false, "Show all containers (default shows just running)")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display container IDs")
	flags.IntVarP(&opts.last, "last", "n", -1, "Show n last created containers (includes all states)")
	flags.BoolVarP(&opts.latest, "latest", "l", false, "Show the latest created container (includes all states)")
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	flags.BoolVarP(&opts.size, "size", "s", false, "Display total file sizes")
	flags.StringVar(&opts.format, "format", "", formatHelp)
	flags.VarP(&opts.filter, "filter", "f", "Filter output based on conditions provided")
	return cmd
}

// Default `ps` formats, as docker's.
const (
	psTableFormat = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
	psSizeColumn  = "\t{{.Size}}"
)

// psHeaders are the column titles of the fields a container row offers.
var psHeaders = labelHeaders{
	"ID":           "CONTAINER ID",
	"Image":        "IMAGE",
	"Command":      "COMMAND",
	"CreatedAt":    "CREATED AT",
	"RunningFor":   "CREATED",
	"Ports":        "PORTS",
	"State":        "STATE",
	"Status":       "STATUS",
	"Size":         "SIZE",
	"Names":        "NAMES",
	"Labels":       "LABELS",
	"Mounts":       "MOUNTS",
	"LocalVolumes": "LOCAL VOLUMES",
	"Networks":     "NETWORKS",
	"Platform":     "PLATFORM",
}

func runPs(ctx context.Context, cc *cliContext, opts psOptions) error {
	format := psFormat(cc, opts)
	listOpts := client.ContainerListOptions{
		All:     opts.all,
		Limit:   opts.last,
		Size:    opts.size || strings.Contains(format.template, ".Size"),
		Filters: opts.filter.value(),
	}
	if opts.latest && opts.last == -1 {
		listOpts.Limit = 1
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	list, err := api.ContainerList(ctx, listOpts)
	if err != nil {
		return err
	}
	rows := make([]*psRow, len(list.Items))
	for i, c := range list.Items {
		rows[i] = &psRow{c: c, trunc: !opts.noTrunc, now: cc.now()}
	}
	return writeRows(cc.stdout, format, psHeaders, rows)
}

// psFormat picks the output format as docker does: --format wins, but -q
// alone prints IDs (with a warning when both are given); -s adds the SIZE
// column to the default table.
func psFormat(cc *cliContext, opts psOptions) outputFormat {
	switch {
	case opts.quiet:
		if opts.format != "" {
			fmt.Fprintln(cc.stderr, "WARNING: Ignoring custom format, because both --format and --quiet are set.")
		}
		return parseOutputFormat("{{.ID}}")
	case opts.format != "" && opts.format != tableFormat:
		return parseOutputFormat(opts.format)
	case opts.size:
		return parseOutputFormat(psTableFormat + psSizeColumn)
	default:
		return parseOutputFormat(psTableFormat)
	}
}

// psRow is one line of `skiff ps`. Its methods are the fields --format
// templates can use, rendered as docker renders them.
type psRow struct {
	c     container.Summary
	trunc bool
	now   time.Time
}

func (r *psRow) ID() string {
	if r.trunc {
		return shortID(r.c.ID)
	}
	return r.c.ID
}

// Names lists the container's names without their leading slash; when
// truncating, only the container's own name (not those of links to it).
func (r *psRow) Names() string {
	names := make([]string, 0, len(r.c.Names))
	for _, name := range r.c.Names {
		names = append(names, strings.TrimPrefix(name, "/"))
	}
	if r.trunc {
		for _, name := range names {
			if !strings.Contains(name, "/") {
				return name
			}
		}
	}
	return strings.Join(names, ",")
}

// Image is the image as the container was created from it: shortened to
// 12 hex digits when it was given by ID, and without its digest when
// truncating.
func (r *psRow) Image() string {
	image := r.c.Image
	if image == "" {
		return "<no image>"
	}
	if !r.trunc {
		return image
	}
	if id := shortID(r.c.ImageID); id != "" && id == shortID(image) {
		return id
	}
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return image
	}
	if tagged, ok := ref.(reference.NamedTagged); ok {
		if retagged, err := reference.WithTag(reference.TrimNamed(tagged), tagged.Tag()); err == nil {
			return reference.FamiliarString(retagged)
		}
		return image
	}
	return reference.FamiliarString(reference.TrimNamed(ref))
}

// Command is the container's command line, quoted, and cut to 20
// characters ending in "…" when truncating.
func (r *psRow) Command() string {
	command := r.c.Command
	if r.trunc {
		command = ellipsis(command, 20)
	}
	return strconv.Quote(command)
}

func (r *psRow) CreatedAt() string {
	return time.Unix(r.c.Created, 0).In(r.now.Location()).String()
}

// RunningFor is the time since the container was created, e.g. "2 hours ago".
func (r *psRow) RunningFor() string {
	return units.HumanDuration(r.now.Sub(time.Unix(r.c.Created, 0))) + " ago"
}

func (r *psRow) Ports() string { return displayablePorts(r.c.Ports) }

func (r *psRow) State() string { return string(r.c.State) }

// Status is the daemon's own description, e.g. "Up 2 minutes".
func (r *psRow) Status() string { return r.c.Status }

// Size is the writable layer's size, and the whole filesystem's when known.
func (r *psRow) Size() string {
	rw := units.HumanSizeWithPrecision(float64(r.c.SizeRw), 3)
	if r.c.SizeRootFs > 0 {
		return fmt.Sprintf("%s (virtual %s)", rw, units.HumanSizeWithPrecision(float64(r.c.SizeRootFs), 3))
	}
	return rw
}

// Labels lists key=value pairs, sorted by key.
func (r *psRow) Labels() string { return joinLabels(r.c.Labels) }

// joinLabels is the LABELS column of docker's lists: key=value pairs,
// sorted by key, joined by commas.
func joinLabels(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for key := range labels {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, key := range keys {
		pairs[i] = key + "=" + labels[key]
	}
	return strings.Join(pairs, ",")
}

// Label is the value of one label, for templates: {{.Label "com.x"}}.
func (r *psRow) Label(name string) string { return r.c.Labels[name] }

// Mounts names each mount by volume name or source path (cut to 15
// characters when truncating).
func (r *psRow) Mounts() string {
	mounts := make([]string, 0, len(r.c.Mounts))
	for _, m := range r.c.Mounts {
		name := m.Name
		if name == "" {
			name = m.Source
		}
		if r.trunc {
			name = ellipsis(name, 15)
		}
		mounts = append(mounts, name)
	}
	return strings.Join(mounts, ",")
}

// LocalVolumes counts the mounts of local volumes.
func (r *psRow) LocalVolumes() string {
	count := 0
	for _, m := range r.c.Mounts {
		if m.Driver == "local" {
			count++
		}
	}
	return strconv.Itoa(count)
}

// Networks lists the networks the container is connected to, sorted.
func (r *psRow) Networks() string {
	if r.c.NetworkSettings == nil {
		return ""
	}
	names := make([]string, 0, len(r.c.NetworkSettings.Networks))
	for name := range r.c.NetworkSettings.Networks {
		names = append(names, name)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// Platform is the platform of the container's image, when the daemon says.
func (r *psRow) Platform() any {
	if d := r.c.ImageManifestDescriptor; d != nil && d.Platform != nil {
		return d.Platform
	}
	return nil
}

// MarshalJSON renders the row for --format json: every field, by name.
func (r *psRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"Command":      r.Command(),
		"CreatedAt":    r.CreatedAt(),
		"ID":           r.ID(),
		"Image":        r.Image(),
		"Labels":       r.Labels(),
		"LocalVolumes": r.LocalVolumes(),
		"Mounts":       r.Mounts(),
		"Names":        r.Names(),
		"Networks":     r.Networks(),
		"Platform":     r.Platform(),
		"Ports":        r.Ports(),
		"RunningFor":   r.RunningFor(),
		"Size":         r.Size(),
		"State":        r.State(),
		"Status":       r.Status(),
	})
}

// displayablePorts renders a container's ports as docker's ps does:
// ports sorted, runs of consecutive unpublished (or published-as-is) ports
// grouped into ranges ("7000-7001/tcp", "0.0.0.0:8000-8001->8000-8001/tcp"),
// followed by the other published ports ("0.0.0.0:8080->80/tcp").
func displayablePorts(ports []container.PortSummary) string {
	type portGroup struct{ first, last uint16 }
	ports = slices.Clone(ports)
	sort.Slice(ports, func(i, j int) bool { return comparePorts(ports[i], ports[j]) })

	groups := map[string]*portGroup{}
	var groupOrder, result, hostMappings []string
	for _, port := range ports {
		current := port.PrivatePort
		key := port.Type
		if port.IP.IsValid() {
			if port.PublicPort != current {
				hostPort := net.JoinHostPort(port.IP.String(), strconv.Itoa(int(port.PublicPort)))
				hostMappings = append(hostMappings, fmt.Sprintf("%s->%d/%s", hostPort, port.PrivatePort, port.Type))
				continue
			}
			key = port.IP.String() + "/" + port.Type
		}
		group := groups[key]
		if group == nil {
			groups[key] = &portGroup{first: current, last: current}
			groupOrder = append(groupOrder, key)
			continue
		}
		if current == group.last+1 {
			group.last = current
			continue
		}
		result = append(result, formPortGroup(key, group.first, group.last))
		groups[key] = &portGroup{first: current, last: current}
	}
	for _, key := range groupOrder {
		result = append(result, formPortGroup(key, groups[key].first, groups[key].last))
	}
	result = append(result, hostMappings...)
	return strings.Join(result, ", ")
}

// formPortGroup renders a range of ports under key "type" or "ip/type".
func formPortGroup(key string, first, last uint16) string {
	ip, portType, hasIP := strings.Cut(key, "/")
	if !hasIP {
		ip, portType = "", key
	}
	group := strconv.Itoa(int(first))
	if first != last {
		group += "-" + strconv.Itoa(int(last))
	}
	if ip != "" {
		group = net.JoinHostPort(ip, group) + "->" + group
	}
	return group + "/" + portType
}

func comparePorts(a, b container.PortSummary) bool {
	if a.PrivatePort != b.PrivatePort {
		return a.PrivatePort < b.PrivatePort
	}
	if ipA, ipB := addrString(a.IP), addrString(b.IP); ipA != ipB {
		return ipA < ipB
	}
	if a.PublicPort != b.PublicPort {
		return a.PublicPort < b.PublicPort
	}
	return a.Type < b.Type
}

// addrString renders an address, "" when unset.
func addrString(addr netip.Addr) string {
	if !addr.IsValid() {
		return ""
	}
	return addr.String()
}
