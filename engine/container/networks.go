package container

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	containertypes "github.com/moby/moby/api/types/container"
	networktypes "github.com/moby/moby/api/types/network"

	"github.com/skiff-dev/skiff/engine/events"
)

// Networks are the bridge networks the engine has set up, the default one
// and the user-defined ones, each with its bridge, firewall table and (for
// a user-defined one) the names its DNS responder answers.
type Networks interface {
	// Network is the network with that ID or name; errdefs.ErrNotFound
	// when there is none.
	Network(ctx context.Context, ref string) (*Bridge, error)
	// Bridges are every bridge network, for the sweep of stray veths.
	Bridges() []*Bridge
}

// attachment is a user-defined network a container is connected to, as
// container_networks keeps it: the container joins it at each start.
type attachment struct {
	networkID string
	aliases   []string
}

// attachments are c's user-defined networks, in the order it joined them.
func (s *Service) attachments(ctx context.Context, id string) ([]attachment, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT network_id, aliases FROM container_networks WHERE container_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("networks of container %s: %w", shortID(id), err)
	}
	defer rows.Close()
	var out []attachment
	for rows.Next() {
		var a attachment
		var aliases string
		if err := rows.Scan(&a.networkID, &aliases); err != nil {
			return nil, fmt.Errorf("networks of container %s: %w", shortID(id), err)
		}
		if err := json.Unmarshal([]byte(aliases), &a.aliases); err != nil {
			return nil, fmt.Errorf("networks of container %s: aliases %q: %w", shortID(id), aliases, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// addAttachment records that the container joins a network; one it is
// connected to already is refused with Docker's message.
func addAttachment(ctx context.Context, tx *sql.Tx, containerID string, br *Bridge, aliases []string) error {
	if aliases == nil {
		aliases = []string{}
	}
	js, err := json.Marshal(aliases)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO container_networks(container_id, network_id, aliases, seq)
		SELECT ?1, ?2, ?3, IFNULL(MAX(seq), -1) + 1 FROM container_networks WHERE container_id = ?1
		ON CONFLICT DO NOTHING`, containerID, br.Network.ID, string(js))
	if err != nil {
		return fmt.Errorf("connect container %s to network %s: %w", shortID(containerID), br.Network.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errdefs.ErrPermissionDenied.WithMessage(fmt.Sprintf(
			"endpoint with name %s already exists in network %s", containerID, br.Network.Name))
	}
	return nil
}

// createAttachments are the user-defined networks a new container joins:
// its network mode, when it names one, then the other networks of the
// request's endpoints (the API's NetworkingConfig), with their aliases.
func (s *Service) createAttachments(ctx context.Context, hc *containertypes.HostConfig, endpoints map[string]*networktypes.EndpointSettings) ([]*Bridge, [][]string, error) {
	mode := string(hc.NetworkMode)
	var bridges []*Bridge
	var aliases [][]string
	join := func(ref string, ep *networktypes.EndpointSettings) error {
		br, err := s.userNetwork(ctx, ref)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(bridges, func(b *Bridge) bool { return b.Network.ID == br.Network.ID }) {
			return nil
		}
		var names []string
		if ep != nil {
			names = ep.Aliases
		}
		bridges, aliases = append(bridges, br), append(aliases, names)
		return nil
	}
	if !builtinMode(mode) {
		if err := join(mode, endpoints[mode]); err != nil {
			return nil, nil, err
		}
	}
	refs := make([]string, 0, len(endpoints))
	for ref := range endpoints {
		refs = append(refs, ref)
	}
	slices.Sort(refs) // a map has no order: the same request, the same interfaces
	for _, ref := range refs {
		ep := endpoints[ref]
		switch {
		case ref == mode:
		case builtinMode(ref) || mode == "host" || mode == "none" || strings.HasPrefix(mode, "container:"):
			// Docker's default endpoint, or one that the mode's
			// namespace (not skiff's) would have to join.
			if ep != nil && len(ep.Aliases) > 0 {
				return nil, nil, errdefs.ErrInvalidArgument.WithMessage("network-scoped alias is supported only for containers in user defined networks")
			}
		default:
			if err := join(ref, ep); err != nil {
				return nil, nil, err
			}
		}
	}
	return bridges, aliases, nil
}

// builtinMode reports whether a network mode is one of Docker's own rather
// than the name of a user-defined network.
func builtinMode(mode string) bool {
	switch mode {
	case "", "default", "bridge", "none", "host":
		return true
	}
	return strings.HasPrefix(mode, "container:")
}

// userNetwork is the user-defined network ref names. The predefined ones
// cannot be joined by connect: the default bridge is the network mode's.
func (s *Service) userNetwork(ctx context.Context, ref string) (*Bridge, error) {
	if s.networks == nil {
		return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("network %s not found", ref))
	}
	br, err := s.networks.Network(ctx, ref)
	if err != nil {
		return nil, err
	}
	if br.DNS == nil {
		return nil, errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf(
			"connecting a container to the default network %s is not supported: run it with --network %s", br.Network.Name, br.Network.Name))
	}
	return br, nil
}

// publishNetwork reports a container joining or leaving a network, with
// Docker's attributes.
func (s *Service) publishNetwork(action string, br *Bridge, containerID string) {
	if s.events == nil {
		return
	}
	s.events.Publish(events.Event{Type: "network", Action: action, ID: br.Network.ID,
		Attributes: map[string]string{"container": containerID, "name": br.Network.Name, "type": "bridge"}})
}

// NetworkMember is a container connected to a network.
type NetworkMember struct {
	ID, Name string
}

// NetworkMembers are the containers connected to a user-defined network,
// running or not.
func (s *Service) NetworkMembers(ctx context.Context, networkID string) ([]NetworkMember, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT c.id, c.name FROM container_networks cn JOIN containers c ON c.id = cn.container_id
		WHERE cn.network_id = ? ORDER BY c.name`, networkID)
	if err != nil {
		return nil, fmt.Errorf("containers on network %s: %w", networkID, err)
	}
	defer rows.Close()
	var out []NetworkMember
	for rows.Next() {
		var m NetworkMember
		if err := rows.Scan(&m.ID, &m.Name); err != nil {
			return nil, fmt.Errorf("containers on network %s: %w", networkID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
