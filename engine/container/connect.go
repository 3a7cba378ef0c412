package container

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"

	"github.com/skiff-dev/skiff/engine/network"
)

// Connect connects a container to a user-defined network, as docker
// network connect does: a running container gets its interface there at
// once (eth1, or the first free ethN; eth0 with the default route when it
// has none), a stopped one at its next start.
func (s *Service) Connect(ctx context.Context, ref, networkRef string, aliases []string) error {
	c, unlock, err := s.getLocked(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	if err := sharesNamespace(c); err != nil {
		return err
	}
	br, err := s.userNetwork(ctx, networkRef)
	if err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error { return addAttachment(ctx, tx, c.ID, br, aliases) })
	if err != nil {
		if errdefs.IsPermissionDenied(err) {
			return errdefs.ErrPermissionDenied.WithMessage(fmt.Sprintf("endpoint with name %s already exists in network %s", c.Name, br.Network.Name))
		}
		return err
	}
	if !c.State.Running() || c.State.Pid == 0 {
		return nil
	}
	if err := s.connectLive(ctx, c, br, aliases); err != nil {
		// Not half-connected: the record goes with the interface.
		return errors.Join(err, s.dropAttachment(context.WithoutCancel(ctx), c.ID, br))
	}
	return nil
}

// connectLive attaches a running container's new interface on br and
// records it in its state.
func (s *Service) connectLive(ctx context.Context, c *Container, br *Bridge, aliases []string) error {
	ifName := freeIfName(c.State.Endpoints())
	st, ep, err := s.endpoint(ctx, c, joined{br: br, aliases: aliases}, ifName)
	if err != nil {
		return err
	}
	err = withHostNetlink(func(h *netlink.Handle) error {
		return network.AttachPath(h, fmt.Sprintf("/proc/%d/ns/net", c.State.Pid), ep)
	})
	if err != nil {
		return fmt.Errorf("connect container %s to network %s: %w", shortID(c.ID), br.Network.Name, err)
	}
	if ifName == "eth0" {
		c.State.Network = st
	} else {
		c.State.Connected = append(c.State.Connected, st)
	}
	if err := s.saveState(ctx, c); err != nil {
		s.leave(c, st, false)
		return err
	}
	s.register(c, br, st)
	s.publishNetwork("connect", br, c.ID)
	return nil
}

// freeIfName is the first ethN none of eps has.
func freeIfName(eps []*NetworkState) string {
	for i := 0; ; i++ {
		name := fmt.Sprintf("eth%d", i)
		if !slices.ContainsFunc(eps, func(st *NetworkState) bool { return st.ifName() == name }) {
			return name
		}
	}
}

// Disconnect disconnects a container from a user-defined network, as
// docker network disconnect does: a running container loses its interface
// there at once; the address goes back to the network.
func (s *Service) Disconnect(ctx context.Context, ref, networkRef string) error {
	c, unlock, err := s.getLocked(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	br, err := s.userNetwork(ctx, networkRef)
	if err != nil {
		return err
	}
	if err := s.dropAttachment(ctx, c.ID, br); err != nil {
		if errdefs.IsNotFound(err) {
			return errdefs.ErrPermissionDenied.WithMessage(fmt.Sprintf("container %s is not connected to network %s", c.ID, br.Network.Name))
		}
		return err
	}
	i := slices.IndexFunc(c.State.Endpoints(), func(st *NetworkState) bool { return st.NetworkID == br.Network.ID })
	if i < 0 {
		return nil // stopped: it no longer joins the network when it starts
	}
	st := c.State.Endpoints()[i]
	if st == c.State.Network {
		// eth0 goes, and with it the forwarding of the published ports.
		s.mu.Lock()
		closeReservations(s.ports[c.ID])
		delete(s.ports, c.ID)
		s.mu.Unlock()
		c.State.Network = nil
	} else {
		c.State.Connected = slices.DeleteFunc(c.State.Connected, func(o *NetworkState) bool { return o == st })
	}
	s.leave(c, st, true)
	return s.saveState(ctx, c)
}

// dropAttachment forgets that the container joins br and gives its address
// back; errdefs.ErrNotFound when it was not connected.
func (s *Service) dropAttachment(ctx context.Context, id string, br *Bridge) error {
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM container_networks WHERE container_id = ? AND network_id = ?`, id, br.Network.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("container %s is not connected to network %s", id, br.Network.Name))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return br.IPAM.Release(ctx, br.Network.ID, id)
}

// sharesNamespace refuses a container without a namespace of skiff's own
// to plug into, with Docker's messages.
func sharesNamespace(c *Container) error {
	switch mode := string(c.HostConfig.NetworkMode); {
	case mode == "host":
		return errdefs.ErrPermissionDenied.WithMessage("container cannot be disconnected from host network or connected to host network")
	case mode == "none":
		return errdefs.ErrPermissionDenied.WithMessage("container cannot be connected to multiple networks with one of the networks in private (none) mode")
	case strings.HasPrefix(mode, "container:"):
		return errdefs.ErrPermissionDenied.WithMessage("container sharing network namespace with another container or host cannot be connected to any other network")
	}
	return nil
}
