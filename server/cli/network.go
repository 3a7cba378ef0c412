package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// newNetworkCommand is the `skiff network` group.
func newNetworkCommand(cc *cliContext) *cobra.Command {
	return newGroupCommand("network", "Manage networks",
		newNetworkConnectCommand(cc),
		newNetworkCreateCommand(cc),
		newNetworkDisconnectCommand(cc),
		newNetworkLsCommand(cc),
		newNetworkInspectCommand(cc),
		newNetworkRmCommand(cc),
		newNetworkPruneCommand(cc),
	)
}

type networkCreateOptions struct {
	driver  string
	subnet  string
	gateway string
}

func newNetworkCreateCommand(cc *cliContext) *cobra.Command {
	var opts networkCreateOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNetworkCreate(cmd.Context(), cc, args[0], opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.driver, "driver", "d", "bridge", "Driver to manage the Network")
	flags.StringVar(&opts.subnet, "subnet", "", "Subnet in CIDR format that represents a network segment")
	flags.StringVar(&opts.gateway, "gateway", "", "IPv4 Gateway for the master subnet")
	return cmd
}

// runNetworkCreate prints the new network's ID.
func runNetworkCreate(ctx context.Context, cc *cliContext, name string, opts networkCreateOptions) error {
	ipam, err := networkIPAM(opts)
	if err != nil {
		return err
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	res, err := api.NetworkCreate(ctx, name, client.NetworkCreateOptions{Driver: opts.driver, IPAM: ipam})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(cc.stdout, res.ID)
	return err
}

// networkIPAM is the IPAM section of the request: the subnet and gateway,
// checked here as docker checks them before asking the daemon.
func networkIPAM(opts networkCreateOptions) (*network.IPAM, error) {
	if opts.subnet == "" {
		if opts.gateway != "" {
			return nil, errors.New("every ip-range or gateway must have a corresponding subnet")
		}
		return &network.IPAM{Driver: "default"}, nil
	}
	var cfg network.IPAMConfig
	var err error
	if cfg.Subnet, err = netip.ParsePrefix(opts.subnet); err != nil {
		return nil, fmt.Errorf("invalid subnet %s: %w", opts.subnet, err)
	}
	if opts.gateway != "" {
		if cfg.Gateway, err = netip.ParseAddr(opts.gateway); err != nil {
			return nil, fmt.Errorf("invalid gateway %s: %w", opts.gateway, err)
		}
		if !cfg.Subnet.Contains(cfg.Gateway) {
			return nil, fmt.Errorf("no matching subnet for gateway %s", opts.gateway)
		}
	}
	return &network.IPAM{Driver: "default", Config: []network.IPAMConfig{cfg}}, nil
}

type networkLsOptions struct {
	quiet   bool
	noTrunc bool
	format  string
	filter  filterFlag
}

func newNetworkLsCommand(cc *cliContext) *cobra.Command {
	var opts networkLsOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runNetworkLs(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display network IDs")
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Do not truncate the output")
	flags.StringVar(&opts.format, "format", "", formatHelp)
	flags.VarP(&opts.filter, "filter", "f", "Provide filter values (e.g. \"driver=bridge\")")
	return cmd
}

const networkTableFormat = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

var networkHeaders = labelHeaders{
	"ID":        "NETWORK ID",
	"Name":      "NAME",
	"Driver":    "DRIVER",
	"Scope":     "SCOPE",
	"IPv4":      "IPV4",
	"IPv6":      "IPV6",
	"Internal":  "INTERNAL",
	"Labels":    "LABELS",
	"CreatedAt": "CREATED AT",
}

// runNetworkLs lists networks in natural order of their names, as docker.
func runNetworkLs(ctx context.Context, cc *cliContext, opts networkLsOptions) error {
	format := listFormat(opts.quiet, opts.format, "{{.ID}}", networkTableFormat)
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	res, err := api.NetworkList(ctx, client.NetworkListOptions{Filters: opts.filter.value()})
	if err != nil {
		return err
	}
	list := res.Items
	sort.SliceStable(list, func(i, j int) bool { return naturalLess(list[i].Name, list[j].Name) })
	rows := make([]*networkRow, len(list))
	for i, n := range list {
		rows[i] = &networkRow{n: n.Network, noTrunc: opts.noTrunc}
	}
	return writeRows(cc.stdout, format, networkHeaders, rows)
}

// networkRow is one line of `network ls`; its methods are the --format
// fields.
type networkRow struct {
	n       network.Network
	noTrunc bool
}

func (r *networkRow) ID() string {
	if r.noTrunc {
		return r.n.ID
	}
	return shortID(r.n.ID)
}

func (r *networkRow) Name() string      { return r.n.Name }
func (r *networkRow) Driver() string    { return r.n.Driver }
func (r *networkRow) Scope() string     { return r.n.Scope }
func (r *networkRow) IPv4() string      { return fmt.Sprint(r.n.EnableIPv4) }
func (r *networkRow) IPv6() string      { return fmt.Sprint(r.n.EnableIPv6) }
func (r *networkRow) Internal() string  { return fmt.Sprint(r.n.Internal) }
func (r *networkRow) CreatedAt() string { return r.n.Created.String() }

func (r *networkRow) Labels() string { return joinLabels(r.n.Labels) }

func (r *networkRow) Label(name string) string { return r.n.Labels[name] }

func (r *networkRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"ID": r.ID(), "Name": r.Name(), "Driver": r.Driver(), "Scope": r.Scope(),
		"IPv4": r.IPv4(), "IPv6": r.IPv6(), "Internal": r.Internal(),
		"Labels": r.Labels(), "CreatedAt": r.CreatedAt(),
	})
}

func newNetworkInspectCommand(cc *cliContext) *cobra.Command {
	var format string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNetworkInspect(cmd.Context(), cc, args, format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", inspectFormatHelp)
	// Only swarm networks have more to show.
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "Verbose output for diagnostics")
	return cmd
}

// runNetworkInspect prints the networks as docker does: the daemon's JSON
// re-encoded through the typed form, or through --format.
func runNetworkInspect(ctx context.Context, cc *cliContext, refs []string, format string) error {
	printer, err := newInspectPrinter(format)
	if err != nil {
		return err
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	var failures []error
	for _, ref := range refs {
		res, err := api.NetworkInspect(ctx, ref, client.NetworkInspectOptions{})
		if err == nil {
			err = printer.add(inspectedObject{kind: "network", typed: res.Network, raw: res.Raw})
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

func newNetworkRmCommand(cc *cliContext) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNetworkRm(cmd.Context(), cc, args, force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not error if the network does not exist")
	return cmd
}

// runNetworkRm removes each network in turn, printing the name it was
// given, or the error as it comes; any error ends it with docker's
// "exit status 1" line.
func runNetworkRm(ctx context.Context, cc *cliContext, refs []string, force bool) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	failed := false
	for _, ref := range refs {
		if _, err := api.NetworkRemove(ctx, ref, client.NetworkRemoveOptions{}); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !(force && errdefs.IsNotFound(err)) {
				fmt.Fprintln(cc.stderr, cc.explain(err))
				failed = true
			}
			continue
		}
		fmt.Fprintln(cc.stdout, ref)
	}
	if failed {
		return statusError{code: exitFailure, message: "exit status 1"}
	}
	return nil
}

func newNetworkPruneCommand(cc *cliContext) *cobra.Command {
	var force bool
	var filter filterFlag
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused networks",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runNetworkPrune(cmd.Context(), cc, force, filter)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().Var(&filter, "filter", "Provide filter values (e.g. \"until=<timestamp>\")")
	return cmd
}

const networkPruneWarning = `WARNING! This will remove all custom networks not used by at least one container.
Are you sure you want to continue? [y/N] `

// runNetworkPrune asks first, unless forced, then prints the names of the
// networks removed and a blank line, as docker does.
func runNetworkPrune(ctx context.Context, cc *cliContext, force bool, filter filterFlag) error {
	if !force {
		fmt.Fprint(cc.stdout, networkPruneWarning)
		answer, _ := bufio.NewReader(cc.stdin).ReadString('\n')
		if a := strings.TrimSpace(answer); a != "y" && a != "Y" {
			return nil // as docker: no message, success
		}
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	res, err := api.NetworkPrune(ctx, client.NetworkPruneOptions{Filters: filter.value()})
	if err != nil {
		return err
	}
	if deleted := res.Report.NetworksDeleted; len(deleted) > 0 {
		fmt.Fprintln(cc.stdout, "Deleted Networks:")
		for _, name := range deleted {
			fmt.Fprintln(cc.stdout, name)
		}
		fmt.Fprintln(cc.stdout)
	}
	return nil
}
