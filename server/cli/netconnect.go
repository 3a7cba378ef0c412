package cli

import (
	"context"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func newNetworkConnectCommand(cc *cliContext) *cobra.Command {
	var aliases []string
	cmd := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNetworkConnect(cmd.Context(), cc, args[0], args[1], aliases)
		},
	}
	cmd.Flags().StringSliceVar(&aliases, "alias", nil, "Add network-scoped alias for the container")
	return cmd
}

// runNetworkConnect prints nothing, as docker's.
func runNetworkConnect(ctx context.Context, cc *cliContext, net, ctr string, aliases []string) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	_, err = api.NetworkConnect(ctx, net, client.NetworkConnectOptions{
		Container: ctr, EndpointConfig: &network.EndpointSettings{Aliases: aliases},
	})
	return err
}

func newNetworkDisconnectCommand(cc *cliContext) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, err := cc.daemon()
			if err != nil {
				return err
			}
			_, err = api.NetworkDisconnect(cmd.Context(), args[0], client.NetworkDisconnectOptions{Container: args[1], Force: force})
			return err
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the container to disconnect from a network")
	return cmd
}
