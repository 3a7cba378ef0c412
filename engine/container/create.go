package container

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	containertypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// CreateOptions are the body and name of POST /containers/create.
type CreateOptions struct {
	Name       string
	Config     *containertypes.Config
	HostConfig *containertypes.HostConfig
	// Endpoints are the request's NetworkingConfig: the networks to join,
	// by name or ID, with their aliases.
	Endpoints map[string]*network.EndpointSettings
}

// Create makes a container from an image, as docker create does: the
// image's config merged with the request's, a name (generated when none is
// given), its state directory and files. It does not start it.
func (s *Service) Create(ctx context.Context, opts CreateOptions) (*Container, []string, error) {
	cfg, hc := opts.Config, opts.HostConfig
	if cfg == nil {
		return nil, nil, errdefs.ErrInvalidArgument.WithMessage("config cannot be empty in order to create a container")
	}
	if hc == nil {
		hc = &containertypes.HostConfig{}
	}
	if err := validateHostConfig(hc); err != nil {
		return nil, nil, err
	}
	nets, aliases, err := s.createAttachments(ctx, hc, opts.Endpoints)
	if err != nil {
		return nil, nil, err
	}
	imageID, err := s.images.Resolve(ctx, cfg.Image)
	if err != nil {
		return nil, nil, err
	}
	base, err := s.images.ContainerBase(ctx, imageID)
	if err != nil {
		return nil, nil, err
	}
	top := base.TopLayer
	merged := mergeImageConfig(cfg, &base.Config.Config)
	if len(merged.Entrypoint) == 0 && len(merged.Cmd) == 0 {
		return nil, nil, errdefs.ErrInvalidArgument.WithMessage("no command specified")
	}

	name := trimSlash(opts.Name)
	generated := name == ""
	if generated {
		if name, err = s.generateName(ctx); err != nil {
			return nil, nil, err
		}
	} else if err := checkName(name); err != nil {
		return nil, nil, err
	}

	c := &Container{
		ID: newID(), Name: name, Image: cfg.Image, ImageID: imageID, TopLayer: top,
		Config: merged, HostConfig: hc, Created: s.now().UTC(),
		State: State{Status: containertypes.StateCreated},
	}
	if c.Config.Hostname == "" {
		c.Config.Hostname = shortID(c.ID)
	}
	uses, err := volumesToCreate(c)
	if err != nil {
		return nil, nil, err
	}
	var responder netip.Addr
	if len(nets) > 0 && !builtinMode(string(hc.NetworkMode)) {
		responder = nets[0].Network.Gateway
	}
	if err := s.prepareStateDir(c, responder); err != nil {
		os.RemoveAll(s.stateDir(c.ID))
		return nil, nil, err
	}
	insert := func() error {
		return s.insert(ctx, c, uses, func(tx *sql.Tx) error {
			for i, br := range nets {
				if err := addAttachment(ctx, tx, c.ID, br, aliases[i]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err = insert()
	// A generated name may be taken by a concurrent create between
	// generateName's check and the insert: pick another, as Docker does.
	for attempt := 0; generated && errdefs.IsConflict(err) && attempt < 10; attempt++ {
		if c.Name, err = s.generateName(ctx); err == nil {
			err = insert()
		}
	}
	if err != nil {
		os.RemoveAll(s.stateDir(c.ID))
		for _, u := range uses {
			if u.anonymous { // made for this container only
				os.RemoveAll(filepath.Dir(s.volumePath(u.name)))
			}
		}
		return nil, nil, err
	}
	s.publish(c, "create", nil)
	return c, []string{}, nil
}

// dockerImageConfig is the runtime part of an image's config.
type dockerImageConfig = dockerspec.DockerOCIImageConfig

func newID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// mergeImageConfig applies Docker's rules for what the image supplies: a
// command given at run time replaces the image's Cmd; an entrypoint given at
// run time replaces the image's Entrypoint and drops its Cmd; env, labels,
// exposed ports and volumes add to the image's.
func mergeImageConfig(req *containertypes.Config, img *dockerImageConfig) *containertypes.Config {
	c := *req
	// An entrypoint of one empty word (docker run --entrypoint "", and the
	// builder's RUN steps) clears the image's, keeping the request's Cmd.
	if len(c.Entrypoint) == 1 && c.Entrypoint[0] == "" {
		c.Entrypoint = nil
	} else if len(c.Entrypoint) == 0 {
		c.Entrypoint = slices.Clone(img.Entrypoint)
		if len(c.Cmd) == 0 {
			c.Cmd = slices.Clone(img.Cmd)
		}
	}
	c.Env = mergeEnv(img.Env, req.Env)
	if c.WorkingDir == "" {
		c.WorkingDir = img.WorkingDir
	}
	if c.User == "" {
		c.User = img.User
	}
	if c.StopSignal == "" {
		c.StopSignal = img.StopSignal
	}
	if len(img.Labels) > 0 {
		labels := map[string]string{}
		for k, v := range img.Labels {
			labels[k] = v
		}
		for k, v := range req.Labels {
			labels[k] = v
		}
		c.Labels = labels
	}
	if len(img.ExposedPorts) > 0 {
		ports := network.PortSet{}
		for p := range req.ExposedPorts {
			ports[p] = struct{}{}
		}
		for p := range img.ExposedPorts {
			if port, err := network.ParsePort(p); err == nil {
				ports[port] = struct{}{}
			}
		}
		c.ExposedPorts = ports
	}
	if len(img.Volumes) > 0 {
		vols := map[string]struct{}{}
		for v := range img.Volumes {
			vols[v] = struct{}{}
		}
		for v := range req.Volumes {
			vols[v] = struct{}{}
		}
		c.Volumes = vols
	}
	return &c
}

// mergeEnv returns base with every variable of override set over it.
func mergeEnv(base, override []string) []string {
	env := slices.Clone(base)
	for _, kv := range override {
		key, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range env {
			if k, _, _ := strings.Cut(old, "="); k == key {
				env[i], replaced = kv, true
				break
			}
		}
		if !replaced {
			env = append(env, kv)
		}
	}
	return env
}

func validateHostConfig(hc *containertypes.HostConfig) error {
	policy := hc.RestartPolicy
	switch policy.Name {
	case "", containertypes.RestartPolicyDisabled, containertypes.RestartPolicyAlways,
		containertypes.RestartPolicyUnlessStopped, containertypes.RestartPolicyOnFailure:
	default:
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'", policy.Name))
	}
	if policy.MaximumRetryCount < 0 {
		return errdefs.ErrInvalidArgument.WithMessage("invalid restart policy: maximum retry count cannot be negative")
	}
	if policy.MaximumRetryCount > 0 && policy.Name != containertypes.RestartPolicyOnFailure {
		return errdefs.ErrInvalidArgument.WithMessage("invalid restart policy: maximum retry count can only be used with 'on-failure'")
	}
	if hc.AutoRemove && policy.Name != "" && policy.Name != containertypes.RestartPolicyDisabled {
		return errdefs.ErrInvalidArgument.WithMessage("can't create 'AutoRemove' container with restart policy")
	}
	if hc.Memory > 0 && hc.Memory < 6*1024*1024 {
		return errdefs.ErrInvalidArgument.WithMessage("Minimum memory limit allowed is 6MB")
	}
	if hc.PidsLimit != nil && *hc.PidsLimit < 0 {
		return errdefs.ErrInvalidArgument.WithMessage("invalid PIDs limit: must be 0 or more")
	}
	for _, b := range hc.Binds {
		if _, err := parseBind(b); err != nil {
			return err
		}
	}
	return nil
}

// prepareStateDir makes the container's directories and the files bound
// into it; a valid responder is the DNS responder of its user-defined
// network.
func (s *Service) prepareStateDir(c *Container, responder netip.Addr) error {
	dir := s.stateDir(c.ID)
	for _, d := range []string{"upper", "work", "rootfs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return fmt.Errorf("create container directory: %w", err)
		}
	}
	hosts := hostsFile(c, netip.AddrFrom4([4]byte{127, 0, 1, 1}))
	resolv, err := resolvConf(c.HostConfig, responder)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"hostname":    []byte(c.Config.Hostname + "\n"),
		"hosts":       hosts,
		"resolv.conf": resolv,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// insert records a new container and the volumes it uses, creating those
// that do not exist yet, and runs also in the same transaction.
func (s *Service) insert(ctx context.Context, c *Container, uses []volumeUse, also func(*sql.Tx) error) error {
	config, err := json.Marshal(c.Config)
	if err != nil {
		return err
	}
	hostConfig, err := json.Marshal(c.HostConfig)
	if err != nil {
		return err
	}
	state, err := json.Marshal(c.State)
	if err != nil {
		return err
	}
	return s.commitFor(c)(ctx, func(tx *sql.Tx) error {
		var other string
		err := tx.QueryRowContext(ctx, `SELECT id FROM containers WHERE name = ?`, c.Name).Scan(&other)
		if err == nil {
			return nameConflict(c.Name, other)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO containers(id, name, image_id, top_layer, status, config, created_at, image_ref, host_config, state)
			VALUES (?, ?, ?, NULLIF(?, ''), ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.ImageID.String(), c.TopLayer.String(), string(c.State.Status), string(config),
			c.Created.UnixNano(), c.Image, string(hostConfig), string(state))
		if err != nil {
			return fmt.Errorf("record container: %w", err)
		}
		for _, u := range uses {
			if err := s.ensureVolume(ctx, tx, u.name, nil, u.anonymous); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO container_volumes(container_id, volume, destination) VALUES (?, ?, ?)`,
				c.ID, u.name, u.destination); err != nil {
				return fmt.Errorf("record volume %s of the container: %w", u.name, err)
			}
		}
		return also(tx)
	})
}

// bind is a parsed -v host:container[:options].
type bind struct {
	Source, Destination string
	ReadOnly            bool
	Named               bool   // Source is a volume name, not a host path
	Mode                string // the options as given ("ro", "rw,z", ...)
}

func parseBind(spec string) (bind, error) {
	parts := strings.Split(spec, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return bind{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid volume specification: '%s'", spec))
	}
	b := bind{Source: parts[0], Destination: parts[1]}
	if len(parts) == 3 {
		b.Mode = parts[2]
		for _, opt := range strings.Split(parts[2], ",") {
			switch opt {
			case "ro":
				b.ReadOnly = true
			case "rw", "z", "Z", "private", "rprivate", "shared", "rshared", "slave", "rslave", "nocopy":
			default:
				return bind{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid mode: %s", opt))
			}
		}
	}
	if !filepath.IsAbs(b.Destination) {
		return bind{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid volume specification: '%s': mount path must be absolute", spec))
	}
	b.Named = !filepath.IsAbs(b.Source)
	if b.Source == "" {
		return bind{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid volume specification: '%s'", spec))
	}
	return b, nil
}
