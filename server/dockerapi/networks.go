package dockerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/network"

	"github.com/skiff-dev/skiff/engine"
	enginenet "github.com/skiff-dev/skiff/engine/network"
)

// NetworkBackend keeps the networks.
type NetworkBackend interface {
	NetworkCreate(ctx context.Context, opts engine.NetworkCreateOptions) (*engine.Network, error)
	NetworkList(ctx context.Context) ([]*engine.Network, error)
	NetworkInspect(ctx context.Context, ref string) (*engine.Network, error)
	NetworkRemove(ctx context.Context, ref string) error
	NetworkPrune(ctx context.Context) ([]string, error)
	NetworkConnect(ctx context.Context, networkRef, containerRef string, aliases []string) error
	NetworkDisconnect(ctx context.Context, networkRef, containerRef string) error
}

type networkRoutes struct {
	b NetworkBackend
}

func (r *networkRoutes) register(e *echo.Echo) {
	e.GET("/networks", r.list)
	e.POST("/networks/create", r.create)
	e.POST("/networks/prune", r.prune)
	e.GET("/networks/:id", r.inspect)
	e.DELETE("/networks/:id", r.remove)
	e.POST("/networks/:id/connect", r.connect)
	e.POST("/networks/:id/disconnect", r.disconnect)
}

// POST /networks/{id}/connect: the container and its aliases there; the
// other endpoint settings (a static address, links, driver options) are
// refused by name rather than ignored.
func (r *networkRoutes) connect(c echo.Context) error {
	var req network.ConnectRequest
	if err := json.NewDecoder(c.Request().Body).Decode(&req); err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid JSON: %v", err))
	}
	var aliases []string
	if ep := req.EndpointConfig; ep != nil {
		if ep.IPAMConfig != nil && (ep.IPAMConfig.IPv4Address.IsValid() || ep.IPAMConfig.IPv6Address.IsValid()) {
			return errdefs.ErrNotImplemented.WithMessage("a static address (--ip, --ip6) is not supported by this skiff daemon yet")
		}
		if len(ep.Links) > 0 {
			return errdefs.ErrNotImplemented.WithMessage("links (--link) are not supported by this skiff daemon yet")
		}
		aliases = ep.Aliases
	}
	if err := r.b.NetworkConnect(c.Request().Context(), c.Param("id"), req.Container, aliases); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}

// POST /networks/{id}/disconnect. Force changes nothing: skiff keeps no
// endpoint that could outlive its container.
func (r *networkRoutes) disconnect(c echo.Context) error {
	var req network.DisconnectRequest
	if err := json.NewDecoder(c.Request().Body).Decode(&req); err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid JSON: %v", err))
	}
	if err := r.b.NetworkDisconnect(c.Request().Context(), c.Param("id"), req.Container); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}

// toNetwork is n as moby's API types describe a network.
func toNetwork(n *engine.Network) network.Network {
	out := network.Network{
		Name: n.Name, ID: n.ID, Created: n.Created, Scope: "local", Driver: n.Driver,
		EnableIPv4: n.Driver == engine.NetworkDriverBridge,
		IPAM:       network.IPAM{Driver: "default", Options: map[string]string{}, Config: []network.IPAMConfig{}},
		Options:    map[string]string{}, Labels: map[string]string{},
	}
	if n.Driver != engine.NetworkDriverBridge {
		return out
	}
	out.IPAM.Config = append(out.IPAM.Config, network.IPAMConfig{Subnet: n.Subnet, Gateway: n.Gateway})
	if n.Name == "bridge" {
		// The options Docker reports for its docker0, with skiff's bridge.
		out.Options = map[string]string{
			"com.docker.network.bridge.default_bridge": "true",
			"com.docker.network.bridge.name":           n.Bridge,
		}
	}
	return out
}

func toInspect(n *engine.Network) network.Inspect {
	out := network.Inspect{Network: toNetwork(n), Containers: map[string]network.EndpointResource{}}
	for _, c := range n.Containers {
		out.Containers[c.ID] = network.EndpointResource{
			Name: c.Name, EndpointID: endpointID(n.ID, c.ID), IPv4Address: c.Address,
			MacAddress: network.HardwareAddr(enginenet.MACFor(c.Address.Addr())),
		}
	}
	return out
}

// GET /networks?filters= with docker's filters: name (a substring), id (a
// prefix), driver, type (custom or builtin), scope, dangling (no
// containers, not predefined). No network has labels, so a label filter
// matches none.
func (r *networkRoutes) list(c echo.Context) error {
	f, err := parseFilters(c.QueryParam("filters"), "name", "id", "driver", "type", "scope", "dangling", "label")
	if err != nil {
		return err
	}
	for _, t := range f["type"] {
		if t != "custom" && t != "builtin" {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter: 'type'='%s'", t))
		}
	}
	dangling, err := f.boolean("dangling")
	if err != nil {
		return err
	}
	list, err := r.b.NetworkList(c.Request().Context())
	if err != nil {
		return err
	}
	out := []network.Summary{}
	for _, n := range list {
		kind := "custom"
		if n.Predefined() {
			kind = "builtin"
		}
		switch {
		case len(f["name"]) > 0 && !slices.ContainsFunc(f["name"], func(s string) bool { return strings.Contains(n.Name, s) }):
		case len(f["id"]) > 0 && !slices.ContainsFunc(f["id"], func(s string) bool { return strings.HasPrefix(n.ID, s) }):
		case len(f["driver"]) > 0 && !slices.Contains(f["driver"], n.Driver):
		case len(f["type"]) > 0 && !slices.Contains(f["type"], kind):
		case len(f["scope"]) > 0 && !slices.Contains(f["scope"], "local"):
		case len(f["label"]) > 0:
		case dangling != nil && *dangling != (len(n.Containers) == 0 && !n.Predefined()):
		default:
			out = append(out, network.Summary{Network: toNetwork(n)})
		}
	}
	return WriteJSON(c, http.StatusOK, out)
}

func (r *networkRoutes) create(c echo.Context) error {
	var req network.CreateRequest
	if err := json.NewDecoder(c.Request().Body).Decode(&req); err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid JSON: %v", err))
	}
	opts, err := createOptions(req)
	if err != nil {
		return err
	}
	n, err := r.b.NetworkCreate(c.Request().Context(), opts)
	if err != nil {
		return err
	}
	return WriteJSON(c, http.StatusCreated, network.CreateResponse{ID: n.ID})
}

// createOptions takes what skiff's networks support from a create request
// and refuses the rest by name, rather than create something other than
// what was asked.
func createOptions(req network.CreateRequest) (engine.NetworkCreateOptions, error) {
	unsupported := func(what string) error {
		return errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("create network %s: %s not supported by skiff yet", req.Name, what))
	}
	switch {
	case req.Scope != "" && req.Scope != "local":
		return engine.NetworkCreateOptions{}, unsupported("scope " + req.Scope + " is")
	case req.EnableIPv6 != nil && *req.EnableIPv6:
		return engine.NetworkCreateOptions{}, unsupported("IPv6 is")
	case req.EnableIPv4 != nil && !*req.EnableIPv4:
		return engine.NetworkCreateOptions{}, unsupported("networks without IPv4 are")
	case req.Internal:
		return engine.NetworkCreateOptions{}, unsupported("internal networks are")
	case req.Ingress || req.ConfigOnly || req.ConfigFrom != nil:
		return engine.NetworkCreateOptions{}, unsupported("swarm and config-only networks are")
	case len(req.Options) > 0:
		return engine.NetworkCreateOptions{}, unsupported("driver options are")
	case len(req.Labels) > 0:
		return engine.NetworkCreateOptions{}, unsupported("labels on networks are")
	}
	opts := engine.NetworkCreateOptions{Name: req.Name, Driver: req.Driver}
	if req.IPAM == nil {
		return opts, nil
	}
	switch {
	case req.IPAM.Driver != "" && req.IPAM.Driver != "default":
		return opts, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("plugin %q not found", req.IPAM.Driver))
	case len(req.IPAM.Options) > 0:
		return opts, unsupported("IPAM options are")
	case len(req.IPAM.Config) > 1:
		return opts, unsupported("more than one subnet is")
	case len(req.IPAM.Config) == 0:
		return opts, nil
	}
	cfg := req.IPAM.Config[0]
	if cfg.IPRange.IsValid() || len(cfg.AuxAddress) > 0 {
		return opts, unsupported("--ip-range and --aux-address are")
	}
	opts.Subnet, opts.Gateway = cfg.Subnet, cfg.Gateway
	return opts, nil
}

func (r *networkRoutes) inspect(c echo.Context) error {
	n, err := r.b.NetworkInspect(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return WriteJSON(c, http.StatusOK, toInspect(n))
}

func (r *networkRoutes) remove(c echo.Context) error {
	if err := r.b.NetworkRemove(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// POST /networks/prune: the user-defined networks no container is on. No
// filter (until, label) is supported yet, and refused rather than ignored.
func (r *networkRoutes) prune(c echo.Context) error {
	if _, err := parseFilters(c.QueryParam("filters")); err != nil {
		return err
	}
	names, err := r.b.NetworkPrune(c.Request().Context())
	if err != nil {
		return err
	}
	if names == nil {
		names = []string{}
	}
	return WriteJSON(c, http.StatusOK, network.PruneReport{NetworksDeleted: names})
}
