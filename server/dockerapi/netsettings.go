package dockerapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"slices"
	"strconv"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/skiff-dev/skiff/engine"
)

// inspectNetworkSettings is NetworkSettings as docker inspect shows it:
// the current API's fields, plus the top-level address fields that API
// 1.52 dropped and that the docker 28 CLI's templates still read
// ({{.NetworkSettings.IPAddress}}).
type inspectNetworkSettings struct {
	container.NetworkSettings
	Bridge      string
	EndpointID  string
	Gateway     string
	IPAddress   string
	IPPrefixLen int
	MacAddress  string
	HairpinMode bool
}

// networkSettings describes where a container is reachable: its ports (the
// published ones with their host address and port, the exposed ones with
// none) while it runs, and its endpoint on each of its networks.
func networkSettings(ctr *engine.Container) *inspectNetworkSettings {
	mode := networkMode(ctr.HostConfig)
	ns := &inspectNetworkSettings{NetworkSettings: container.NetworkSettings{
		Ports:    network.PortMap{},
		Networks: map[string]*network.EndpointSettings{},
	}}
	if ctr.State.Running() {
		for _, st := range ctr.State.Endpoints() {
			name := st.Name
			if name == "" { // recorded before networks had names: the mode's
				name = mode
			}
			ns.Networks[name] = endpointSettings(ctr.ID, st)
		}
	}
	if st := ctr.State.Network; st != nil && ctr.State.Running() {
		ns.EndpointID, ns.Gateway, ns.IPAddress = endpointID(st.NetworkID, ctr.ID), st.Gateway.String(), st.Address.Addr().String()
		ns.IPPrefixLen, ns.MacAddress = st.Address.Bits(), st.MAC
		for port := range ctr.Config.ExposedPorts {
			ns.Ports[port] = nil
		}
		for _, p := range st.Ports {
			port, ok := network.PortFrom(p.ContainerPort, network.IPProtocol(p.Proto))
			if ok {
				ns.Ports[port] = append(ns.Ports[port], network.PortBinding{HostIP: p.HostIP, HostPort: strconv.Itoa(int(p.HostPort))})
			}
		}
	}
	// A stopped container, or one on host or none, shows its mode's
	// network with no address, as Docker's does.
	if _, ok := ns.Networks[mode]; !ok && !isContainerMode(mode) && (builtinMode(mode) || !ctr.State.Running()) {
		ns.Networks[mode] = &network.EndpointSettings{}
	}
	return ns
}

// builtinMode reports whether a network mode is one of Docker's own rather
// than a user-defined network's name.
func builtinMode(mode string) bool {
	switch mode {
	case "bridge", "host", "none", "default":
		return true
	}
	return isContainerMode(mode)
}

func isContainerMode(mode string) bool {
	return len(mode) > len("container:") && mode[:len("container:")] == "container:"
}

// endpointSettings is a running container's endpoint on the bridge.
func endpointSettings(id string, st *engine.ContainerNetwork) *network.EndpointSettings {
	mac, _ := net.ParseMAC(st.MAC)
	return &network.EndpointSettings{
		NetworkID:   st.NetworkID,
		EndpointID:  endpointID(st.NetworkID, id),
		Aliases:     st.Aliases,
		Gateway:     st.Gateway,
		IPAddress:   st.Address.Addr(),
		IPPrefixLen: st.Address.Bits(),
		MacAddress:  network.HardwareAddr(mac),
	}
}

// endpointID is the ID of a container's endpoint on a network: skiff keeps
// none, so it derives one that stays the same while the container is on it.
func endpointID(networkID, containerID string) string {
	sum := sha256.Sum256([]byte(networkID + containerID))
	return hex.EncodeToString(sum[:])
}

// portSummaries are a running container's ports as docker ps lists them:
// each published one with its host address and port, each exposed one
// that is not published alone.
func portSummaries(ctr *engine.Container) []container.PortSummary {
	out := []container.PortSummary{}
	st := ctr.State.Network
	if !ctr.State.Running() {
		return out
	}
	published := map[network.Port]bool{}
	if st != nil {
		for _, p := range st.Ports {
			out = append(out, container.PortSummary{
				IP: p.HostIP, PrivatePort: p.ContainerPort, PublicPort: p.HostPort, Type: p.Proto,
			})
			if port, ok := network.PortFrom(p.ContainerPort, network.IPProtocol(p.Proto)); ok {
				published[port] = true
			}
		}
	}
	for port := range ctr.Config.ExposedPorts {
		if !published[port] {
			out = append(out, container.PortSummary{PrivatePort: port.Num(), Type: string(port.Proto())})
		}
	}
	slices.SortFunc(out, func(a, b container.PortSummary) int {
		if a.PrivatePort != b.PrivatePort {
			return int(a.PrivatePort) - int(b.PrivatePort)
		}
		return a.IP.Compare(b.IP)
	})
	return out
}
