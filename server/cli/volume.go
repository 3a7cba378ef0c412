package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/volume"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// newVolumeCommand is the `skiff volume` group.
func newVolumeCommand(cc *cliContext) *cobra.Command {
	return newGroupCommand("volume", "Manage volumes",
		newVolumeCreateCommand(cc),
		newVolumeLsCommand(cc),
		newVolumeRmCommand(cc),
		newVolumeInspectCommand(cc),
	)
}

type volumeCreateOptions struct {
	name    string
	driver  string
	options mapFlag
	labels  mapFlag
}

func newVolumeCreateCommand(cc *cliContext) *cobra.Command {
	var opts volumeCreateOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if opts.name != "" {
					return errors.New("conflicting options: cannot specify a volume-name through both --name and as a positional arg")
				}
				opts.name = args[0]
			}
			return runVolumeCreate(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.driver, "driver", "d", "local", "Specify volume driver name")
	flags.StringVar(&opts.name, "name", "", "Specify volume name")
	_ = flags.MarkHidden("name")
	flags.VarP(&opts.options, "opt", "o", "Set driver specific options")
	flags.Var(&opts.labels, "label", "Set metadata for a volume")
	return cmd
}

// runVolumeCreate prints the name of the new volume (chosen by the daemon
// when none is given).
func runVolumeCreate(ctx context.Context, cc *cliContext, opts volumeCreateOptions) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	res, err := api.VolumeCreate(ctx, client.VolumeCreateOptions{
		Name:       opts.name,
		Driver:     opts.driver,
		DriverOpts: opts.options.values,
		Labels:     opts.labels.values,
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(cc.stdout, res.Volume.Name)
	return err
}

type volumeLsOptions struct {
	quiet  bool
	format string
	filter filterFlag
}

func newVolumeLsCommand(cc *cliContext) *cobra.Command {
	var opts volumeLsOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVolumeLs(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display volume names")
	flags.StringVar(&opts.format, "format", "", formatHelp)
	flags.VarP(&opts.filter, "filter", "f", "Provide filter values (e.g. \"dangling=true\")")
	return cmd
}

const volumeTableFormat = "table {{.Driver}}\t{{.Name}}"

var volumeHeaders = labelHeaders{
	"Name":       "VOLUME NAME",
	"Driver":     "DRIVER",
	"Scope":      "SCOPE",
	"Mountpoint": "MOUNTPOINT",
	"Labels":     "LABELS",
	"Links":      "LINKS",
	"Size":       "SIZE",
	"CreatedAt":  "CREATED AT",
}

// runVolumeLs lists volumes in natural order of their names.
func runVolumeLs(ctx context.Context, cc *cliContext, opts volumeLsOptions) error {
	format := listFormat(opts.quiet, opts.format, "{{.Name}}", volumeTableFormat)
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	res, err := api.VolumeList(ctx, client.VolumeListOptions{Filters: opts.filter.value()})
	if err != nil {
		return err
	}
	volumes := res.Items
	sort.SliceStable(volumes, func(i, j int) bool { return naturalLess(volumes[i].Name, volumes[j].Name) })
	rows := make([]*volumeRow, len(volumes))
	for i, v := range volumes {
		rows[i] = &volumeRow{v: v}
	}
	return writeRows(cc.stdout, format, volumeHeaders, rows)
}

// volumeRow is one line of `volume ls`; its methods are the --format fields.
type volumeRow struct{ v volume.Volume }

func (r *volumeRow) Name() string       { return r.v.Name }
func (r *volumeRow) Driver() string     { return r.v.Driver }
func (r *volumeRow) Scope() string      { return r.v.Scope }
func (r *volumeRow) Mountpoint() string { return r.v.Mountpoint }
func (r *volumeRow) CreatedAt() string  { return r.v.CreatedAt }

func (r *volumeRow) Labels() string { return joinLabels(r.v.Labels) }

func (r *volumeRow) Label(name string) string { return r.v.Labels[name] }

func (r *volumeRow) Links() string {
	if r.v.UsageData == nil {
		return "N/A"
	}
	return fmt.Sprint(r.v.UsageData.RefCount)
}

func (r *volumeRow) Size() string {
	if r.v.UsageData == nil {
		return "N/A"
	}
	return units.HumanSize(float64(r.v.UsageData.Size))
}

func (r *volumeRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"Name":       r.Name(),
		"Driver":     r.Driver(),
		"Scope":      r.Scope(),
		"Mountpoint": r.Mountpoint(),
		"Labels":     r.Labels(),
		"Links":      r.Links(),
		"Size":       r.Size(),
		"CreatedAt":  r.CreatedAt(),
	})
}

func newVolumeRmCommand(cc *cliContext) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVolumeRm(cmd.Context(), cc, args, force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the removal of one or more volumes")
	return cmd
}

// runVolumeRm removes each volume in turn, printing its name; the errors
// are reported together at the end.
func runVolumeRm(ctx context.Context, cc *cliContext, names []string, force bool) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	var failures []error
	for _, name := range names {
		if _, err := api.VolumeRemove(ctx, name, client.VolumeRemoveOptions{Force: force}); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failures = append(failures, err)
			continue
		}
		fmt.Fprintln(cc.stdout, name)
	}
	return errors.Join(failures...)
}

func newVolumeInspectCommand(cc *cliContext) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVolumeInspect(cmd.Context(), cc, args, format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", inspectFormatHelp)
	return cmd
}

// runVolumeInspect prints the volumes as docker does: their typed form
// re-encoded (fields in the API's order), or through --format.
func runVolumeInspect(ctx context.Context, cc *cliContext, names []string, format string) error {
	printer, err := newInspectPrinter(format)
	if err != nil {
		return err
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	var failures []error
	for _, name := range names {
		res, err := api.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
		if err == nil {
			var raw []byte
			if raw, err = json.Marshal(res.Volume); err == nil {
				err = printer.add(inspectedObject{kind: "volume", typed: res.Volume, raw: raw})
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failures = append(failures, err)
		}
	}
	if err := printer.flush(cc.stdout); err != nil {
		return err
	}
	return errors.Join(failures...)
}

// mapFlag collects repeated key=value options into a map.
type mapFlag struct {
	values map[string]string
}

func (f *mapFlag) Set(option string) error {
	key, value, _ := strings.Cut(option, "=")
	if key == "" {
		return fmt.Errorf("invalid key=value option: %q", option)
	}
	if f.values == nil {
		f.values = map[string]string{}
	}
	f.values[key] = value
	return nil
}

func (f *mapFlag) String() string { return "" }
func (f *mapFlag) Type() string   { return "map" }
