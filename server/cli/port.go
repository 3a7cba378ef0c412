package cli

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func newPortCommand(cc *cliContext) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			port := ""
			if len(args) > 1 {
				port = args[1]
			}
			return runPort(cmd.Context(), cc, args[0], port)
		},
	}
	return cmd
}

// runPort prints the container's published ports from its inspect data:
// every "80/tcp -> 0.0.0.0:8080" mapping, or the host addresses of one
// private port (tcp unless a protocol is given), in docker's natural order.
func runPort(ctx context.Context, cc *cliContext, name, port string) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	inspected, err := api.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	var ports network.PortMap
	if settings := inspected.Container.NetworkSettings; settings != nil {
		ports = settings.Ports
	}

	var out []string
	if port != "" {
		number, proto, _ := strings.Cut(port, "/")
		if proto == "" {
			proto = "tcp"
		}
		if _, err := strconv.ParseUint(number, 10, 16); err != nil {
			return fmt.Errorf("Error: invalid port (%s): %w", number, err)
		}
		key, err := network.ParsePort(number + "/" + proto)
		if err != nil {
			return fmt.Errorf("Error: invalid port (%s): %w", number, err)
		}
		frontends := ports[key]
		if len(frontends) == 0 {
			return fmt.Errorf("Error: No public port '%s' published for %s", port, name)
		}
		for _, frontend := range frontends {
			out = append(out, hostAddress(frontend))
		}
	} else {
		for from, frontends := range ports {
			for _, frontend := range frontends {
				out = append(out, fmt.Sprintf("%s -> %s", from, hostAddress(frontend)))
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	sort.Slice(out, func(i, j int) bool { return naturalLess(out[i], out[j]) })
	_, err = fmt.Fprintln(cc.stdout, strings.Join(out, "\n"))
	return err
}

// hostAddress renders a binding as host:port, IPv6 in brackets.
func hostAddress(binding network.PortBinding) string {
	return net.JoinHostPort(addrString(binding.HostIP), binding.HostPort)
}

// naturalLess orders strings as docker's sortorder.NaturalLess: runs of
// digits compare by value ("80/tcp" before "443/tcp") and sort before
// other characters; the rest compares bytewise.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		aDigits, bDigits := isDigit(a[0]), isDigit(b[0])
		switch {
		case aDigits != bDigits:
			return aDigits
		case aDigits:
			aRun, bRun := leadingDigits(a), leadingDigits(b)
			aNum, bNum := strings.TrimLeft(aRun, "0"), strings.TrimLeft(bRun, "0")
			if len(aNum) != len(bNum) {
				return len(aNum) < len(bNum)
			}
			if aNum != bNum {
				return aNum < bNum
			}
			if len(aRun) != len(bRun) {
				return len(aRun) < len(bRun)
			}
			a, b = a[len(aRun):], b[len(bRun):]
		case a[0] != b[0]:
			return a[0] < b[0]
		default:
			a, b = a[1:], b[1:]
		}
	}
	return len(a) < len(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i]
}
