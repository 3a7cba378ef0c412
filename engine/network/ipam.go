package network

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/containerd/errdefs"
)

// DB is what IPAM needs of skiff's metadata database (*store.DB has it):
// write transactions, which SQLite runs one at a time, so that choosing a
// free address and taking it is one step.
type DB interface {
	Tx(ctx context.Context, fn func(tx *sql.Tx) error) error
}

// Network is a bridge network as IPAM keeps it.
type Network struct {
	ID      string       // 64 hex characters; CreateNetwork makes one when empty
	Name    string       // "bridge" for the default network
	Bridge  string       // the bridge's interface name, DefaultBridge for the default network
	Subnet  netip.Prefix // 172.17.0.0/16
	Gateway netip.Addr   // the bridge's address; CreateNetwork takes the subnet's first when zero
	Created time.Time
}

// GatewayPrefix is the gateway with the subnet's length, the address
// EnsureBridge gives the bridge.
func (n Network) GatewayPrefix() netip.Prefix {
	return netip.PrefixFrom(n.Gateway, n.Subnet.Bits())
}

// IPAM keeps networks and the addresses containers hold on them in SQLite,
// so that an address is never held by two containers and survives a
// restart of the daemon.
type IPAM struct {
	db DB
}

// NewIPAM returns an IPAM over db, whose schema has migration 0005.
func NewIPAM(db DB) *IPAM {
	return &IPAM{db: db}
}

// CreateNetwork records a network and returns it with its ID, gateway and
// creation time filled in. A name, bridge or subnet that another network
// already has is refused.
func (m *IPAM) CreateNetwork(ctx context.Context, n Network) (Network, error) {
	if err := checkSubnet(n.Subnet); err != nil {
		return Network{}, fmt.Errorf("create network %s: %w", n.Name, err)
	}
	if !n.Gateway.IsValid() {
		n.Gateway = firstHost(n.Subnet)
	}
	if !isHost(n.Subnet, n.Gateway) {
		return Network{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"create network %s: gateway %s is not a host address of %s", n.Name, n.Gateway, n.Subnet))
	}
	if n.Name == "" || n.Bridge == "" || len(n.Bridge) > 15 {
		return Network{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"create network %q: a name and a bridge name of 1 to 15 characters are needed (bridge %q)", n.Name, n.Bridge))
	}
	if n.ID == "" {
		n.ID = newID()
	}
	n.Created = time.Now()
	err := m.db.Tx(ctx, func(tx *sql.Tx) error {
		others, err := networks(ctx, tx)
		if err != nil {
			return err
		}
		for _, o := range others {
			switch {
			case o.Name == n.Name || o.ID == n.ID:
				return errdefs.ErrConflict.WithMessage(fmt.Sprintf("network with name %s already exists", n.Name))
			case o.Bridge == n.Bridge:
				return errdefs.ErrConflict.WithMessage(fmt.Sprintf("bridge %s is already used by network %s", n.Bridge, o.Name))
			case o.Subnet.Overlaps(n.Subnet):
				return errdefs.ErrConflict.WithMessage(fmt.Sprintf("subnet %s overlaps %s of network %s", n.Subnet, o.Subnet, o.Name))
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO networks(id, name, bridge, subnet, gateway, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			n.ID, n.Name, n.Bridge, n.Subnet.String(), n.Gateway.String(), n.Created.UnixNano())
		return err
	})
	if err != nil {
		return Network{}, fmt.Errorf("create network %s: %w", n.Name, err)
	}
	return n, nil
}

// Network returns the network with that ID or name.
func (m *IPAM) Network(ctx context.Context, idOrName string) (Network, error) {
	var n Network
	err := m.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = network(ctx, tx, idOrName)
		return err
	})
	return n, err
}

// Networks returns every network, oldest first.
func (m *IPAM) Networks(ctx context.Context) ([]Network, error) {
	var list []Network
	err := m.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		list, err = networks(ctx, tx)
		return err
	})
	return list, err
}

// RemoveNetwork forgets the network with that ID or name; one on which a
// container holds an address is refused.
func (m *IPAM) RemoveNetwork(ctx context.Context, idOrName string) error {
	return m.db.Tx(ctx, func(tx *sql.Tx) error {
		n, err := network(ctx, tx, idOrName)
		if err != nil {
			return err
		}
		var used int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM network_addresses WHERE network_id = ?`, n.ID).Scan(&used); err != nil {
			return fmt.Errorf("remove network %s: %w", n.Name, err)
		}
		if used > 0 {
			return errdefs.ErrConflict.WithMessage(fmt.Sprintf("error while removing network: network %s id %s has active endpoints", n.Name, n.ID))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM networks WHERE id = ?`, n.ID); err != nil {
			return fmt.Errorf("remove network %s: %w", n.Name, err)
		}
		return nil
	})
}

// Allocate gives the container the lowest free host address of the
// network, other than the gateway, and returns it with the subnet's length
// (the address its interface gets). A container that already holds one
// gets the same again, so a restarted daemon or container keeps it.
func (m *IPAM) Allocate(ctx context.Context, networkID, containerID string) (netip.Prefix, error) {
	var addr netip.Prefix
	err := m.db.Tx(ctx, func(tx *sql.Tx) error {
		n, err := network(ctx, tx, networkID)
		if err != nil {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM containers WHERE id = ?`, containerID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("no such container: %s", containerID))
		}
		if err != nil {
			return err
		}
		used := map[netip.Addr]bool{n.Gateway: true}
		rows, err := tx.QueryContext(ctx, `SELECT container_id, address FROM network_addresses WHERE network_id = ?`, n.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var holder, s string
			if err := rows.Scan(&holder, &s); err != nil {
				return err
			}
			a, err := netip.ParseAddr(s)
			if err != nil {
				return fmt.Errorf("address %q in the database: %w", s, err)
			}
			if holder == containerID {
				addr = netip.PrefixFrom(a, n.Subnet.Bits())
				return nil
			}
			used[a] = true
		}
		if err := rows.Err(); err != nil {
			return err
		}
		last := broadcast(n.Subnet)
		for a := firstHost(n.Subnet); a.Less(last); a = a.Next() {
			if used[a] {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO network_addresses(network_id, container_id, address) VALUES (?, ?, ?)`,
				n.ID, containerID, a.String()); err != nil {
				return err
			}
			addr = netip.PrefixFrom(a, n.Subnet.Bits())
			return nil
		}
		return errdefs.ErrResourceExhausted.WithMessage(fmt.Sprintf("no free address left in %s of network %s", n.Subnet, n.Name))
	})
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("allocate an address on network %s for container %s: %w", networkID, containerID, err)
	}
	return addr, nil
}

// Release frees the container's address on the network, if it holds one.
// Removing the container's row releases its addresses on every network.
func (m *IPAM) Release(ctx context.Context, networkID, containerID string) error {
	err := m.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM network_addresses WHERE network_id = ? AND container_id = ?`, networkID, containerID)
		return err
	})
	if err != nil {
		return fmt.Errorf("release the address of container %s on network %s: %w", containerID, networkID, err)
	}
	return nil
}

// Allocations returns which container holds which address on the network.
func (m *IPAM) Allocations(ctx context.Context, networkID string) (map[string]netip.Addr, error) {
	held := map[string]netip.Addr{}
	err := m.db.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT container_id, address FROM network_addresses WHERE network_id = ?`, networkID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, s string
			if err := rows.Scan(&id, &s); err != nil {
				return err
			}
			if held[id], err = netip.ParseAddr(s); err != nil {
				return fmt.Errorf("address %q in the database: %w", s, err)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("addresses on network %s: %w", networkID, err)
	}
	return held, nil
}

const selectNetwork = `SELECT id, name, bridge, subnet, gateway, created_at FROM networks`

func network(ctx context.Context, tx *sql.Tx, idOrName string) (Network, error) {
	n, err := scanNetwork(tx.QueryRowContext(ctx, selectNetwork+` WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1`, idOrName, idOrName, idOrName))
	if errors.Is(err, sql.ErrNoRows) {
		return Network{}, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("network %s not found", idOrName))
	}
	return n, err
}

func networks(ctx context.Context, tx *sql.Tx) ([]Network, error) {
	rows, err := tx.QueryContext(ctx, selectNetwork+` ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	defer rows.Close()
	var list []Network
	for rows.Next() {
		n, err := scanNetwork(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, n)
	}
	return list, rows.Err()
}

func scanNetwork(row interface{ Scan(...any) error }) (Network, error) {
	var n Network
	var subnet, gateway string
	var created int64
	if err := row.Scan(&n.ID, &n.Name, &n.Bridge, &subnet, &gateway, &created); err != nil {
		return Network{}, err
	}
	var err error
	if n.Subnet, err = netip.ParsePrefix(subnet); err != nil {
		return Network{}, fmt.Errorf("network %s: subnet %q in the database: %w", n.Name, subnet, err)
	}
	if n.Gateway, err = netip.ParseAddr(gateway); err != nil {
		return Network{}, fmt.Errorf("network %s: gateway %q in the database: %w", n.Name, gateway, err)
	}
	n.Created = time.Unix(0, created)
	return n, nil
}

// isHost reports whether a is an address of subnet other than the network
// and broadcast addresses.
func isHost(subnet netip.Prefix, a netip.Addr) bool {
	return subnet.Contains(a) && a != subnet.Masked().Addr() && a != broadcast(subnet)
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
