package dockerapi

import (
	"net/netip"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"

	"github.com/skiff-dev/skiff/engine"
)

func TestNetworkCreateOptions(t *testing.T) {
	yes, no := true, false
	subnet, gateway := netip.MustParsePrefix("10.9.0.0/16"), netip.MustParseAddr("10.9.0.254")
	tests := []struct {
		name  string
		req   network.CreateRequest
		want  engine.NetworkCreateOptions
		check func(error) bool // nil: no error
	}{
		{"name only", network.CreateRequest{Name: "n"}, engine.NetworkCreateOptions{Name: "n"}, nil},
		{"as the docker CLI sends it", network.CreateRequest{Name: "n", Driver: "bridge", IPAM: &network.IPAM{Driver: "default", Options: map[string]string{}},
			Options: map[string]string{}, Labels: map[string]string{}},
			engine.NetworkCreateOptions{Name: "n", Driver: "bridge"}, nil},
		{"subnet and gateway", network.CreateRequest{Name: "n", IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet, Gateway: gateway}}}},
			engine.NetworkCreateOptions{Name: "n", Subnet: subnet, Gateway: gateway}, nil},
		{"IPv4 asked for", network.CreateRequest{Name: "n", EnableIPv4: &yes, EnableIPv6: &no}, engine.NetworkCreateOptions{Name: "n"}, nil},
		{"IPv6", network.CreateRequest{Name: "n", EnableIPv6: &yes}, engine.NetworkCreateOptions{}, errdefs.IsNotImplemented},
		{"internal", network.CreateRequest{Name: "n", Internal: true}, engine.NetworkCreateOptions{}, errdefs.IsNotImplemented},
		{"labels", network.CreateRequest{Name: "n", Labels: map[string]string{"a": "b"}}, engine.NetworkCreateOptions{}, errdefs.IsNotImplemented},
		{"driver options", network.CreateRequest{Name: "n", Options: map[string]string{"com.docker.network.bridge.name": "x"}}, engine.NetworkCreateOptions{}, errdefs.IsNotImplemented},
		{"swarm scope", network.CreateRequest{Name: "n", Scope: "swarm"}, engine.NetworkCreateOptions{}, errdefs.IsNotImplemented},
		{"IPAM driver", network.CreateRequest{Name: "n", IPAM: &network.IPAM{Driver: "dhcp"}}, engine.NetworkCreateOptions{}, errdefs.IsNotFound},
		{"two subnets", network.CreateRequest{Name: "n", IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet}, {Subnet: subnet}}}}, engine.NetworkCreateOptions{}, errdefs.IsNotImplemented},
		{"ip range", network.CreateRequest{Name: "n", IPAM: &network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet, IPRange: subnet}}}}, engine.NetworkCreateOptions{}, errdefs.IsNotImplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := createOptions(tt.req)
			switch {
			case tt.check == nil && err != nil:
				t.Fatalf("error %v", err)
			case tt.check != nil && !tt.check(err):
				t.Fatalf("error %v, not of the expected class", err)
			case tt.check == nil && got != tt.want:
				t.Errorf("options %+v, want %+v", got, tt.want)
			}
		})
	}
}
