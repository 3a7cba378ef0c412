// Package container is the container service: Docker's container lifecycle
// (create, start, stop, kill, pause, restart, remove, rename, wait, attach,
// exec, logs) over the runtime, kept in SQLite.
//
// A container's processes belong to its monitor (engine/monitor), never to
// the daemon: the service starts a monitor per start, talks to it through a
// monitor.Client, and a daemon that restarts reconnects to the monitors that
// still run (Restore). The state machine follows Docker's rules, and its
// transitions live in one place (state.go).
//
// On disk, a container is <root>/<id>/:
//
//	upper/, work/      the overlay's writable layer and work dir
//	rootfs/            where the container's init mounts the overlay (in its
//	                   own mount namespace only)
//	hostname, hosts, resolv.conf   bind-mounted into the container
//	container-json.log             its output (engine/logfile)
//	monitor.*, exit.json           the monitor's files
package container

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	containertypes "github.com/moby/moby/api/types/container"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/events"
	"github.com/skiff-dev/skiff/engine/image"
	"github.com/skiff-dev/skiff/engine/monitor"
	"github.com/skiff-dev/skiff/engine/network/portmap"
	"github.com/skiff-dev/skiff/engine/runtime"
	"github.com/skiff-dev/skiff/engine/runtime/seccomp"
	"github.com/skiff-dev/skiff/engine/store"
)

// Container is one container with its configuration and state.
type Container struct {
	ID         string
	Name       string // without the leading slash
	Image      string // as the user named it
	ImageID    digest.Digest
	TopLayer   digest.Digest // the image's top layer chain ID, kept alive by this container
	Config     *containertypes.Config
	HostConfig *containertypes.HostConfig
	Created    time.Time
	State      State
	// Mounts are the container's binds and volumes, as docker inspect
	// shows them; filled by Inspect only.
	Mounts []MountPoint
}

// MountPoint is one bind or volume of a container.
type MountPoint struct {
	Type        string // "bind" or "volume"
	Name        string // the volume's name; "" for a bind
	Source      string // the host path
	Destination string
	Mode        string // as given after the second ':' of -v ("ro", "rw", ...)
	RW          bool
}

// State is the runtime state of a container, as Docker reports it.
type State struct {
	Status       containertypes.ContainerState
	Pid          int
	ExitCode     int
	Error        string
	OOMKilled    bool
	StartedAt    time.Time
	FinishedAt   time.Time
	RestartCount int
	// StoppedByUser is set by stop and kill: an unless-stopped container
	// stays stopped, also across daemon restarts.
	StoppedByUser bool
	// Network is eth0's network while the container runs on a bridge
	// network; Connected are its other networks (eth1 onwards).
	Network   *NetworkState   `json:",omitempty"`
	Connected []*NetworkState `json:",omitempty"`
}

// Running reports whether the container's process exists.
func (s State) Running() bool {
	switch s.Status {
	case containertypes.StateRunning, containertypes.StatePaused, containertypes.StateRestarting:
		return true
	}
	return false
}

// Service manages containers.
type Service struct {
	db     *store.DB
	images *image.Service
	events *events.Bus
	root   string // <data-root>/containers
	// volumesRoot is <data-root>/volumes.
	volumesRoot string
	log         *slog.Logger
	now         func() time.Time
	bridge      *Bridge // nil: no bridge, bridge-mode containers get loopback only
	networks    Networks

	mu      sync.Mutex
	locks   map[string]*sync.Mutex // per container, for lifecycle operations
	live    map[string]*liveContainer
	execs   map[string]*execInstance
	waiters map[string]*waiters
	pending map[string][]*pendingAttach       // attaches waiting for a start
	ports   map[string][]*portmap.Reservation // host ports held for running containers
	// detaching holds the veth removals of exited containers under way
	// (detachVeth); nil until the first.
	detaching map[string]*detaching
}

// liveContainer is a container whose monitor runs.
type liveContainer struct {
	client *monitor.Client
	exited chan struct{} // closed when the container's process exits
}

// Config is what New needs.
type Config struct {
	DB     *store.DB
	Images *image.Service
	Events *events.Bus
	// Root is <data-root>/containers; VolumesRoot is <data-root>/volumes.
	Root        string
	VolumesRoot string
	Logger      *slog.Logger
	// Bridge is the default network; nil runs containers of the default
	// network mode with loopback only.
	Bridge *Bridge
	// Networks are the user-defined networks; nil has none.
	Networks Networks
}

// New returns the container service. Call Restore before serving.
func New(cfg Config) (*Service, error) {
	for _, dir := range []string{cfg.Root, cfg.VolumesRoot} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Most containers take Docker's default capabilities: their seccomp
	// filter is compiled before the first of them starts.
	go seccomp.Default(runtime.DefaultCapabilities)
	return &Service{
		db: cfg.DB, images: cfg.Images, events: cfg.Events, root: cfg.Root, volumesRoot: cfg.VolumesRoot, log: log, now: time.Now,
		bridge: cfg.Bridge, networks: cfg.Networks,
		locks: map[string]*sync.Mutex{}, live: map[string]*liveContainer{}, execs: map[string]*execInstance{},
		waiters: map[string]*waiters{}, pending: map[string][]*pendingAttach{}, ports: map[string][]*portmap.Reservation{},
	}, nil
}

// stateDir is where a container's files live.
func (s *Service) stateDir(id string) string { return filepath.Join(s.root, id) }

// lock serialises lifecycle operations on one container.
func (s *Service) lock(id string) func() {
	s.mu.Lock()
	l, ok := s.locks[id]
	if !ok {
		l = &sync.Mutex{}
		s.locks[id] = l
	}
	s.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// getLocked finds the container ref names and takes its lock, reading it
// again under the lock: it may have changed while the lock was awaited.
// The caller calls unlock.
func (s *Service) getLocked(ctx context.Context, ref string) (c *Container, unlock func(), err error) {
	if c, err = s.get(ctx, ref); err != nil {
		return nil, nil, err
	}
	unlock = s.lock(c.ID)
	if c, err = s.get(ctx, c.ID); err != nil {
		unlock()
		return nil, nil, err
	}
	return c, unlock, nil
}

func (s *Service) liveOf(id string) *liveContainer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[id]
}

// noSuchContainer is Docker's "No such container" error.
func noSuchContainer(ref string) error {
	return errdefs.ErrNotFound.WithMessage("No such container: " + ref)
}

// get resolves ref (a full ID, a unique ID prefix, or a name with or without
// its leading slash) and loads the container.
func (s *Service) get(ctx context.Context, ref string) (*Container, error) {
	if ref == "" {
		return nil, errdefs.ErrInvalidArgument.WithMessage("container name or ID is empty")
	}
	q := s.db.Read()
	name := trimSlash(ref)
	row := q.QueryRowContext(ctx, selectContainer+` WHERE id = ?1 OR name = ?2`, ref, name)
	c, err := scanContainer(row)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, selectContainer+` WHERE id >= ?1 AND id < ?2 LIMIT 2`, ref, ref+"g")
	if err != nil {
		return nil, fmt.Errorf("find container %s: %w", ref, err)
	}
	defer rows.Close()
	var found []*Container
	for rows.Next() {
		c, err := scanContainer(rows)
		if err != nil {
			return nil, err
		}
		found = append(found, c)
	}
	switch len(found) {
	case 0:
		return nil, noSuchContainer(ref)
	case 1:
		return found[0], nil
	}
	return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("multiple IDs found with provided prefix: %s", ref))
}

const selectContainer = `SELECT id, name, image_ref, image_id, IFNULL(top_layer, ''), config, host_config, state, created_at FROM containers`

type scanner interface{ Scan(dest ...any) error }

func scanContainer(r scanner) (*Container, error) {
	c := &Container{}
	var imageID, top, config, hostConfig, state string
	var created int64
	if err := r.Scan(&c.ID, &c.Name, &c.Image, &imageID, &top, &config, &hostConfig, &state, &created); err != nil {
		return nil, err
	}
	c.ImageID, c.TopLayer, c.Created = digest.Digest(imageID), digest.Digest(top), time.Unix(0, created)
	c.Config, c.HostConfig = &containertypes.Config{}, &containertypes.HostConfig{}
	for _, f := range []struct {
		raw string
		v   any
	}{{config, c.Config}, {hostConfig, c.HostConfig}, {state, &c.State}} {
		if err := json.Unmarshal([]byte(f.raw), f.v); err != nil {
			return nil, fmt.Errorf("container %s: decode stored record: %w", shortID(c.ID), err)
		}
	}
	return c, nil
}

// commitFor is the transaction that records c's creation and removal: a
// relaxed one (see store.DB.RelaxedTx) for an --rm container, whose record
// means nothing once the machine went down with it, a durable one for any
// other. A power loss may then lose the record of an --rm container
// created a moment before (Restore sweeps the files it leaves), or bring
// back one removed a moment before, which Restore removes again (see
// removedOnRestore).
func (s *Service) commitFor(c *Container) func(context.Context, func(*sql.Tx) error) error {
	if c.HostConfig != nil && c.HostConfig.AutoRemove {
		return s.db.RelaxedTx
	}
	return s.db.Tx
}

// saveState writes a container's state (and status column) in one
// transaction. It is a relaxed one (see store.DB.RelaxedTx): a state
// describes processes, which only a crash of the machine could end along
// with the commit, and a restarted daemon checks each running container's
// monitor anyway.
func (s *Service) saveState(ctx context.Context, c *Container) error {
	state, err := json.Marshal(c.State)
	if err != nil {
		return err
	}
	return s.db.RelaxedTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE containers SET status = ?, state = ? WHERE id = ?`, string(c.State.Status), string(state), c.ID)
		if err != nil {
			return fmt.Errorf("save state of container %s: %w", shortID(c.ID), err)
		}
		return nil
	})
}

func (s *Service) publish(c *Container, action string, attrs map[string]string) {
	if s.events == nil {
		return
	}
	a := map[string]string{"name": c.Name, "image": c.Image}
	for k, v := range c.Config.Labels {
		a[k] = v
	}
	for k, v := range attrs {
		a[k] = v
	}
	s.events.Publish(events.Event{Type: "container", Action: action, ID: c.ID, Attributes: a})
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func trimSlash(name string) string {
	if len(name) > 0 && name[0] == '/' {
		return name[1:]
	}
	return name
}
