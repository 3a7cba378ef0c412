// Package engine is skiff's in-process container engine: the one place that
// wires the stores and services of engine/* together over a data root, and
// the Go API the HTTP server calls. It knows nothing of HTTP.
//
// A data root holds:
//
//	skiff.lock    held (flock) by the daemon using the data root
//	skiff.db      the SQLite metadata (engine/store), with its -wal and -shm
//	registry-auth.json  the registry accounts of skiff login (0600)
//	content/      blobs by digest (engine/content)
//	layers/       unpacked layers by chain ID (engine/layer)
//	containers/   one directory per container (engine/container)
//	volumes/      named volumes
//	tmp/          scratch space for archives being loaded
package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/engine/auth"
	"github.com/skiff-dev/skiff/engine/build"
	"github.com/skiff-dev/skiff/engine/container"
	"github.com/skiff-dev/skiff/engine/content"
	"github.com/skiff-dev/skiff/engine/events"
	"github.com/skiff-dev/skiff/engine/image"
	"github.com/skiff-dev/skiff/engine/layer"
	"github.com/skiff-dev/skiff/engine/network"
	"github.com/skiff-dev/skiff/engine/registry"
	"github.com/skiff-dev/skiff/engine/registry/credstore"
	"github.com/skiff-dev/skiff/engine/store"
)

// Config is what Open needs.
type Config struct {
	DataRoot string
	// Migrations are the numbered SQL files of the schema.
	Migrations fs.FS
	// SQLDriver is the database/sql driver name of SQLite ("sqlite").
	SQLDriver string
	Logger    *slog.Logger
	// BuildContextLimit caps a build context's unpacked size; 0 is the
	// builder's default.
	BuildContextLimit int64
	// Bridge is the default network's bridge device (skiff serve's is
	// network.DefaultBridge); empty runs containers of the default network
	// with loopback only, as engines in tests of other parts do.
	// BridgeSubnet is its subnet in CIDR notation, chosen to overlap no
	// route of the host when empty.
	Bridge, BridgeSubnet string
	// Registry is the daemon's registry settings: insecure registries,
	// mirrors, transfer caps (see registry.Config).
	Registry registry.Config
}

// Engine is an open data root and the services over it.
type Engine struct {
	root       string
	lock       *os.File
	db         *store.DB
	images     *image.Service
	containers *container.Service
	bridge     *container.Bridge
	nets       *userNetworks
	builder    *build.Builder
	events     *events.Bus
	tokens     *auth.Tokens
	sessions   *auth.Sessions
	password   *auth.Password
	regAuth    *credstore.Store
	log        *slog.Logger
	id         string
	started    time.Time
	registry   registry.Config
}

// Open takes the data root for this process (refusing one that another
// daemon holds), opens its stores, applies schema migrations and removes
// what an earlier crash left half-done.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	root, err := filepath.Abs(cfg.DataRoot)
	if err != nil {
		return nil, fmt.Errorf("data root %s: %w", cfg.DataRoot, err)
	}
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("create data root: %w", err)
	}
	lock, err := lockDataRoot(root)
	if err != nil {
		return nil, err
	}
	e := &Engine{root: root, lock: lock, log: log, started: time.Now(), registry: cfg.Registry}
	if err := e.open(ctx, cfg); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Engine) open(ctx context.Context, cfg Config) error {
	db, err := store.Open(ctx, cfg.SQLDriver, filepath.Join(e.root, "skiff.db"), cfg.Migrations)
	if err != nil {
		return err
	}
	e.db = db
	cs, err := content.Open(filepath.Join(e.root, "content"))
	if err != nil {
		return err
	}
	ls, err := layer.Open(filepath.Join(e.root, "layers"))
	if err != nil {
		return err
	}
	tmp := filepath.Join(e.root, "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("clean temp dir: %w", err)
	}
	e.images, err = image.New(image.Config{DB: db, Content: cs, Layers: ls, TmpDir: tmp, Logger: e.log})
	if err != nil {
		return err
	}
	if err := e.images.GC(ctx); err != nil {
		return fmt.Errorf("garbage-collect images: %w", err)
	}
	e.events = events.NewBus()
	if cfg.Bridge != "" {
		if e.bridge, err = openBridge(ctx, network.NewIPAM(db), cfg.Bridge, cfg.BridgeSubnet); err != nil {
			return err
		}
	}
	// The networks are up before Restore: running containers' names go
	// back to their responders.
	e.nets = newUserNetworks(network.NewIPAM(db), e.bridge, e.log)
	if err := e.nets.openAll(ctx); err != nil {
		return err
	}
	e.containers, err = container.New(container.Config{
		DB: db, Images: e.images, Events: e.events,
		Root: filepath.Join(e.root, "containers"), VolumesRoot: filepath.Join(e.root, "volumes"), Logger: e.log,
		Bridge: e.bridge, Networks: e.nets,
	})
	if err != nil {
		return err
	}
	if err := e.containers.Restore(ctx); err != nil {
		return fmt.Errorf("restore containers: %w", err)
	}
	e.builder, err = build.New(ctx, build.Config{
		DB: db, Images: builderImages{e.images, e}, Containers: e.containers,
		TmpDir: tmp, ContextLimit: cfg.BuildContextLimit, Logger: e.log,
	})
	if err != nil {
		return err
	}
	e.tokens = auth.NewTokens(db)
	if e.regAuth, err = credstore.Open(filepath.Join(e.root, credstore.FileName)); err != nil {
		return err
	}
	e.sessions, e.password = auth.NewSessions(db), auth.NewPassword(db)
	e.id, err = e.daemonID(ctx)
	return err
}

// Close releases the data root.
func (e *Engine) Close() error {
	if e.builder != nil {
		e.builder.Close()
	}
	var errs []error
	if e.containers != nil {
		errs = append(errs, e.closeNetworks(context.Background()))
	}
	if e.db != nil {
		errs = append(errs, e.db.Close())
	}
	if e.lock != nil {
		errs = append(errs, e.lock.Close()) // closing drops the flock
	}
	return errors.Join(errs...)
}

// DataRoot is the absolute path of the data root.
func (e *Engine) DataRoot() string { return e.root }

// Tokens are the credentials of the TCP listener.
func (e *Engine) Tokens() *auth.Tokens { return e.tokens }

// lockDataRoot takes an exclusive lock on the data root, so two daemons
// never share one. The lock file records the holder's PID for the message
// the second daemon prints.
func lockDataRoot(root string) (*os.File, error) {
	path := filepath.Join(root, "skiff.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(holder))
			return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf(
				"data root %s is in use by another skiff daemon (pid %s); stop it first or use another --data-root", root, pid))
		}
		return nil, fmt.Errorf("lock data root %s: %w", root, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// daemonID returns the ID this data root's daemon reports, made at first
// start.
func (e *Engine) daemonID(ctx context.Context) (string, error) {
	var id string
	err := e.db.Read().QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'daemon_id'`).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read daemon ID: %w", err)
	}
	id = newDaemonID()
	err = e.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES ('daemon_id', ?)`, id)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store daemon ID: %w", err)
	}
	return id, nil
}

// CheckToken reports whether token is a valid credential for the TCP
// listener.
func (e *Engine) CheckToken(ctx context.Context, token string) (bool, error) {
	return e.tokens.Valid(ctx, token)
}
