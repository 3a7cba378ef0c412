package engine

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	containertypes "github.com/moby/moby/api/types/container"
	"github.com/vishvananda/netlink"
	_ "modernc.org/sqlite"

	"github.com/skiff-dev/skiff/engine/image"
	"github.com/skiff-dev/skiff/engine/network"
	"github.com/skiff-dev/skiff/engine/testimage"
)

// openNetworkEngine opens an engine on a data root of the test's own. The
// networks it creates put their bridges in the host's namespace, as the
// daemon does: each is named after its network's random ID, and whatever a
// failing test leaves is removed at its end.
func openNetworkEngine(t *testing.T) (*Engine, *netlink.Handle) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating bridges needs root")
	}
	ctx := context.Background()
	e, err := Open(ctx, Config{DataRoot: t.TempDir(), Migrations: os.DirFS("../migrations"), SQLDriver: "sqlite"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := netlink.NewHandle()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		list, _ := network.NewIPAM(e.db).Networks(ctx)
		for _, n := range list {
			if err := network.RemoveBridge(h, n.Bridge); err != nil {
				t.Error(err)
			}
		}
		h.Close()
		e.Close()
	})
	return e, h
}

// testSubnet is in 198.18.0.0/15, set aside for testing network devices, so
// that no host's own network is shadowed while the test's bridge exists.
var testSubnet = netip.MustParsePrefix("198.18.77.0/24")

func TestNetworkCreateInspectRemove(t *testing.T) {
	e, h := openNetworkEngine(t)
	ctx := context.Background()
	_, sub := e.Events(time.Time{})
	defer sub.Close()

	n, err := e.NetworkCreate(ctx, NetworkCreateOptions{Name: "front", Subnet: testSubnet, Gateway: netip.MustParseAddr("198.18.77.254")})
	if err != nil {
		t.Fatal(err)
	}
	if n.Driver != "bridge" || n.Bridge != "br-"+n.ID[:12] || n.Subnet != testSubnet || n.Gateway.String() != "198.18.77.254" {
		t.Errorf("created %+v", n)
	}
	link, err := h.LinkByName(n.Bridge)
	if err != nil {
		t.Fatalf("the network's bridge: %v", err)
	}
	if addrs, _ := h.AddrList(link, netlink.FAMILY_V4); len(addrs) != 1 || addrs[0].IPNet.String() != "198.18.77.254/24" {
		t.Errorf("the bridge's addresses: %v", addrs)
	}

	for _, ref := range []string{n.ID, "front", n.ID[:5]} {
		got, err := e.NetworkInspect(ctx, ref)
		if err != nil || got.ID != n.ID {
			t.Errorf("inspect %s: %+v, %v", ref, got, err)
		}
	}
	list, err := e.NetworkList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Name+"/"+l.Driver)
	}
	if !slices.Equal(names, []string{"front/bridge", "host/host", "none/null"}) {
		t.Errorf("list: %v", names)
	}

	refused := []struct {
		opts  NetworkCreateOptions
		check func(error) bool
		want  string
	}{
		{NetworkCreateOptions{Name: "front"}, errdefs.IsConflict, "network with name front already exists"},
		{NetworkCreateOptions{Name: "host"}, errdefs.IsConflict, "network with name host already exists"},
		{NetworkCreateOptions{Name: "other", Subnet: netip.MustParsePrefix("198.18.77.128/25")}, errdefs.IsConflict, ""},
		{NetworkCreateOptions{Name: "other", Driver: "overlay"}, errdefs.IsNotFound, `plugin "overlay" not found`},
		{NetworkCreateOptions{Name: "-bad"}, errdefs.IsInvalidArgument, ""},
		{NetworkCreateOptions{Name: "other", Gateway: netip.MustParseAddr("198.18.78.1")}, errdefs.IsInvalidArgument, ""},
	}
	for _, tt := range refused {
		_, err := e.NetworkCreate(ctx, tt.opts)
		if err == nil || !tt.check(err) || (tt.want != "" && err.Error() != tt.want) {
			t.Errorf("create %+v: %v", tt.opts, err)
		}
	}

	if err := e.NetworkRemove(ctx, "host"); !errdefs.IsPermissionDenied(err) || err.Error() != "host is a pre-defined network and cannot be removed" {
		t.Errorf("remove host: %v", err)
	}
	if err := e.NetworkRemove(ctx, n.ID[:12]); err != nil {
		t.Fatal(err)
	}
	if _, err := h.LinkByName(n.Bridge); err == nil {
		t.Errorf("bridge %s is still there", n.Bridge)
	}
	if _, err := e.NetworkInspect(ctx, "front"); !errdefs.IsNotFound(err) || err.Error() != "network front not found" {
		t.Errorf("inspect after removal: %v", err)
	}
	for _, want := range []string{"create", "destroy"} {
		ev := <-sub.C
		if ev.Type != "network" || ev.Action != want || ev.ID != n.ID || ev.Attributes["name"] != "front" || ev.Attributes["type"] != "bridge" {
			t.Errorf("event %+v, want network %s", ev, want)
		}
	}
}

func TestNetworkCreatePicksAFreeSubnet(t *testing.T) {
	e, h := openNetworkEngine(t)
	ctx := context.Background()
	var made []*Network
	for _, name := range []string{"a", "b"} {
		n, err := e.NetworkCreate(ctx, NetworkCreateOptions{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, n)
		if !slices.Contains(network.DefaultSubnets, n.Subnet) || n.Gateway != n.Subnet.Addr().Next() {
			t.Errorf("network %s: subnet %s, gateway %s", name, n.Subnet, n.Gateway)
		}
		// The new bridge's own route is the only one into the subnet.
		link, err := h.LinkByName(n.Bridge)
		if err != nil {
			t.Fatal(err)
		}
		routes, _ := h.RouteList(nil, netlink.FAMILY_V4)
		for _, r := range routes {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() {
				continue // a default route, which the bridge's more specific one beats
			}
			p, _ := netip.AddrFromSlice(r.Dst.IP)
			ones, _ := r.Dst.Mask.Size()
			if netip.PrefixFrom(p.Unmap(), ones).Overlaps(n.Subnet) && r.LinkIndex != link.Attrs().Index {
				t.Errorf("network %s's subnet %s overlaps the route %s", name, n.Subnet, r.Dst)
			}
		}
	}
	if made[0].Subnet.Overlaps(made[1].Subnet) {
		t.Errorf("two networks share %s and %s", made[0].Subnet, made[1].Subnet)
	}
	pruned, err := e.NetworkPrune(ctx)
	if err != nil || !slices.Equal(pruned, []string{"a", "b"}) {
		t.Errorf("prune: %v, %v", pruned, err)
	}
}

func TestNetworkWithAContainerIsNotRemoved(t *testing.T) {
	e, _ := openNetworkEngine(t)
	ctx := context.Background()
	n, err := e.NetworkCreate(ctx, NetworkCreateOptions{Name: "busy", Subnet: testSubnet})
	if err != nil {
		t.Fatal(err)
	}
	tag, err := image.ParseTag("busybox:latest")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ImageImport(ctx, bytes.NewReader(testimage.Rootfs(t)), ImageImportOptions{Source: "-", Tag: tag}); err != nil {
		t.Fatal(err)
	}
	c, _, err := e.ContainerCreate(ctx, ContainerCreateOptions{Name: "web", Config: &containertypes.Config{Image: "busybox", Cmd: []string{"true"}}})
	if err != nil {
		t.Fatal(err)
	}
	// What connecting the container will do; the lifecycle is not wired yet.
	addr, err := network.NewIPAM(e.db).Allocate(ctx, n.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}

	got, err := e.NetworkInspect(ctx, "busy")
	if err != nil {
		t.Fatal(err)
	}
	if want := []NetworkContainer{{ID: c.ID, Name: "web", Address: addr}}; !slices.Equal(got.Containers, want) {
		t.Errorf("containers %+v, want %+v", got.Containers, want)
	}
	err = e.NetworkRemove(ctx, "busy")
	want := `error while removing network: network busy has active endpoints (name:"web" id:"` + c.ID[:12] + `")`
	if !errdefs.IsConflict(err) || err.Error() != want {
		t.Errorf("remove: %v\nwant %s", err, want)
	}
	if pruned, err := e.NetworkPrune(ctx); err != nil || len(pruned) != 0 {
		t.Errorf("prune: %v, %v", pruned, err)
	}
	if err := e.ContainerRemove(ctx, c.ID, ContainerRemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.NetworkRemove(ctx, "busy"); err != nil {
		t.Errorf("remove once the container is gone: %v", err)
	}
}
