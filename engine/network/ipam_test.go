package network

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
)

func createNetwork(t *testing.T, m *IPAM, name, bridge, subnet string) Network {
	t.Helper()
	n, err := m.CreateNetwork(context.Background(), Network{Name: name, Bridge: bridge, Subnet: netip.MustParsePrefix(subnet)})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateNetwork(t *testing.T) {
	ctx := context.Background()
	m := NewIPAM(newTestDB(t))
	n := createNetwork(t, m, "bridge", "skiff0", "172.17.0.0/16")
	if len(n.ID) != 64 || n.Gateway != netip.MustParseAddr("172.17.0.1") || n.GatewayPrefix().String() != "172.17.0.1/16" {
		t.Errorf("created %+v", n)
	}
	for _, key := range []string{n.ID, "bridge"} {
		got, err := m.Network(ctx, key)
		if err != nil || got.ID != n.ID || got.Subnet != n.Subnet || got.Gateway != n.Gateway || !got.Created.Equal(n.Created) {
			t.Errorf("Network(%s) = %+v, %v; want %+v", key, got, err, n)
		}
	}
	if _, err := m.Network(ctx, "nope"); !errdefs.IsNotFound(err) {
		t.Errorf("Network(nope): %v", err)
	}

	tests := []struct {
		name  string
		n     Network
		class func(error) bool
		msg   string
	}{
		{"same name", Network{Name: "bridge", Bridge: "skiff1", Subnet: netip.MustParsePrefix("10.1.0.0/24")}, errdefs.IsConflict, "already exists"},
		{"same bridge", Network{Name: "b", Bridge: "skiff0", Subnet: netip.MustParsePrefix("10.1.0.0/24")}, errdefs.IsConflict, "bridge skiff0 is already used"},
		{"overlapping subnet", Network{Name: "b", Bridge: "skiff1", Subnet: netip.MustParsePrefix("172.17.3.0/24")}, errdefs.IsConflict, "overlaps 172.17.0.0/16 of network bridge"},
		{"host bits", Network{Name: "b", Bridge: "skiff1", Subnet: netip.MustParsePrefix("10.1.0.1/24")}, errdefs.IsInvalidArgument, "host bits"},
		{"gateway outside", Network{Name: "b", Bridge: "skiff1", Subnet: netip.MustParsePrefix("10.1.0.0/24"), Gateway: netip.MustParseAddr("10.2.0.1")}, errdefs.IsInvalidArgument, "not a host address"},
		{"gateway is broadcast", Network{Name: "b", Bridge: "skiff1", Subnet: netip.MustParsePrefix("10.1.0.0/24"), Gateway: netip.MustParseAddr("10.1.0.255")}, errdefs.IsInvalidArgument, "not a host address"},
		{"bridge name too long", Network{Name: "b", Bridge: "skiff-very-long-1", Subnet: netip.MustParsePrefix("10.1.0.0/24")}, errdefs.IsInvalidArgument, "1 to 15 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.CreateNetwork(ctx, tt.n)
			if !tt.class(err) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("CreateNetwork: %v; want one with %q", err, tt.msg)
			}
		})
	}
	if list, err := m.Networks(ctx); err != nil || len(list) != 1 {
		t.Errorf("Networks = %v, %v; want the one network", list, err)
	}
}

// Addresses go lowest first, skip the gateway, come back once released,
// are the same for a container asking again, and run out before the
// broadcast address.
func TestAllocate(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	m := NewIPAM(db)
	// 10.5.0.8/29: .8 network, .9–.14 hosts, .15 broadcast; gateway .10.
	n, err := m.CreateNetwork(ctx, Network{Name: "small", Bridge: "skiff1", Subnet: netip.MustParsePrefix("10.5.0.8/29"), Gateway: netip.MustParseAddr("10.5.0.10")})
	if err != nil {
		t.Fatal(err)
	}
	addContainers(t, db, "c1", "c2", "c3", "c4", "c5", "c6", "c7")
	steps := []struct {
		op, container string
		want          string // the address, or the error's text
	}{
		{"allocate", "c1", "10.5.0.9/29"},
		{"allocate", "c2", "10.5.0.11/29"},
		{"allocate", "c3", "10.5.0.12/29"},
		{"allocate", "c1", "10.5.0.9/29"},
		{"release", "c2", ""},
		{"release", "c2", ""},
		{"allocate", "c4", "10.5.0.11/29"},
		{"allocate", "c5", "10.5.0.13/29"},
		{"allocate", "c6", "10.5.0.14/29"},
		{"allocate", "c7", "no free address left in 10.5.0.8/29"},
		{"allocate", "nobody", "no such container: nobody"},
	}
	for _, s := range steps {
		switch s.op {
		case "allocate":
			got, err := m.Allocate(ctx, n.ID, s.container)
			if err != nil {
				if !strings.Contains(err.Error(), s.want) {
					t.Fatalf("Allocate(%s) = %v; want %s", s.container, err, s.want)
				}
				continue
			}
			if got.String() != s.want {
				t.Fatalf("Allocate(%s) = %s; want %s", s.container, got, s.want)
			}
		case "release":
			if err := m.Release(ctx, n.ID, s.container); err != nil {
				t.Fatalf("Release(%s): %v", s.container, err)
			}
		}
	}
	if _, err := m.Allocate(ctx, "nonet", "c7"); !errdefs.IsNotFound(err) {
		t.Errorf("Allocate on a missing network: %v", err)
	}
}

// The database itself refuses an address held twice.
func TestAddressUniqueInSchema(t *testing.T) {
	db := newTestDB(t)
	n := createNetwork(t, NewIPAM(db), "bridge", "skiff0", "172.17.0.0/16")
	addContainers(t, db, "c1", "c2")
	insert := `INSERT INTO network_addresses(network_id, container_id, address) VALUES (?, ?, '172.17.0.2')`
	if err := exec(db, insert, n.ID, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := exec(db, insert, n.ID, "c2"); err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Fatalf("a second holder of 172.17.0.2: %v", err)
	}
}

// Concurrent allocations never hand out an address twice.
func TestAllocateConcurrently(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	m := NewIPAM(db)
	n := createNetwork(t, m, "bridge", "skiff0", "172.17.0.0/16")
	const count = 40
	ids := make([]string, count)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%02d", i)
	}
	addContainers(t, db, ids...)
	got := make([]netip.Prefix, count)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			var err error
			if got[i], err = m.Allocate(ctx, n.ID, id); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[netip.Prefix]string{}
	for i, a := range got {
		if other, ok := seen[a]; ok {
			t.Errorf("%s given to %s and %s", a, other, ids[i])
		}
		seen[a] = ids[i]
	}
	held, err := m.Allocations(ctx, n.ID)
	if err != nil || len(held) != count {
		t.Fatalf("Allocations: %d, %v; want %d", len(held), err, count)
	}
}

// Addresses are in the database: a restarted daemon sees who holds what
// and gives each container the same address again.
func TestAllocationsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "skiff.db")
	db := openDB(t, file)
	m := NewIPAM(db)
	n := createNetwork(t, m, "bridge", "skiff0", "172.17.0.0/16")
	addContainers(t, db, "c1", "c2", "c3")
	first, err := m.Allocate(ctx, n.ID, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Allocate(ctx, n.ID, "c2"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	m = NewIPAM(openDB(t, file))
	held, err := m.Allocations(ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"c1": "172.17.0.2", "c2": "172.17.0.3"}
	if len(held) != len(want) {
		t.Errorf("after restart: %v, want %v", held, want)
	}
	for id, a := range want {
		if held[id].String() != a {
			t.Errorf("after restart %s holds %s, want %s", id, held[id], a)
		}
	}
	if again, err := m.Allocate(ctx, n.ID, "c1"); err != nil || again != first {
		t.Errorf("c1 after restart: %v, %v; want %s", again, err, first)
	}
	if next, err := m.Allocate(ctx, n.ID, "c3"); err != nil || next.String() != "172.17.0.4/16" {
		t.Errorf("c3 after restart: %v, %v; want 172.17.0.4/16", next, err)
	}
}

// Removing a container's row releases its addresses; a network with an
// address in use cannot be removed.
func TestRemoval(t *testing.T) {
	ctx := context.Background()
	db := newTestDB(t)
	m := NewIPAM(db)
	n := createNetwork(t, m, "bridge", "skiff0", "172.17.0.0/16")
	addContainers(t, db, "c1")
	if _, err := m.Allocate(ctx, n.ID, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveNetwork(ctx, "bridge"); !errdefs.IsConflict(err) || !strings.Contains(err.Error(), "has active endpoints") {
		t.Fatalf("RemoveNetwork in use: %v", err)
	}
	if err := exec(db, `DELETE FROM containers WHERE id = 'c1'`); err != nil {
		t.Fatal(err)
	}
	if held, err := m.Allocations(ctx, n.ID); err != nil || len(held) != 0 {
		t.Fatalf("after removing the container: %v, %v", held, err)
	}
	if err := m.RemoveNetwork(ctx, "bridge"); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveNetwork(ctx, "bridge"); !errdefs.IsNotFound(err) {
		t.Fatalf("RemoveNetwork again: %v", err)
	}
}
