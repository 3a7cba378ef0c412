package container

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"

	"github.com/skiff-dev/skiff/engine/runtime"
)

// Volume is a named (or anonymous) volume: a directory under the data root.
type Volume struct {
	Name      string
	Labels    map[string]string
	Anonymous bool
	Created   time.Time
	Path      string // the directory mounted into containers
	UsedBy    []string
}

var validVolumeName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

func (s *Service) volumePath(name string) string {
	return filepath.Join(s.volumesRoot, name, "_data")
}

// CreateVolume creates a named volume (or returns the existing one, as docker
// volume create does).
func (s *Service) CreateVolume(ctx context.Context, name string, labels map[string]string) (*Volume, error) {
	if name == "" {
		name = newID()
	}
	if !validVolumeName().MatchString(name) {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"create %s: %q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed", name, name))
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error { return s.ensureVolume(ctx, tx, name, labels, false) })
	if err != nil {
		return nil, err
	}
	return s.InspectVolume(ctx, name)
}

// ensureVolume makes the directory and row of a volume unless it exists.
func (s *Service) ensureVolume(ctx context.Context, tx *sql.Tx, name string, labels map[string]string, anonymous bool) error {
	if err := os.MkdirAll(s.volumePath(name), 0o755); err != nil {
		return fmt.Errorf("create volume %s: %w", name, err)
	}
	if labels == nil {
		labels = map[string]string{}
	}
	raw, _ := json.Marshal(labels)
	_, err := tx.ExecContext(ctx, `INSERT INTO volumes(name, labels, anonymous, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO NOTHING`,
		name, string(raw), anonymous, s.now().UnixNano())
	if err != nil {
		return fmt.Errorf("record volume %s: %w", name, err)
	}
	return nil
}

// InspectVolume returns one volume.
func (s *Service) InspectVolume(ctx context.Context, name string) (*Volume, error) {
	vols, err := s.volumes(ctx, `WHERE v.name = ?`, name)
	if err != nil {
		return nil, err
	}
	if len(vols) == 0 {
		return nil, errdefs.ErrNotFound.WithMessage("get " + name + ": no such volume")
	}
	return vols[0], nil
}

// ListVolumes returns every volume.
func (s *Service) ListVolumes(ctx context.Context) ([]*Volume, error) {
	return s.volumes(ctx, "")
}

func (s *Service) volumes(ctx context.Context, where string, args ...any) ([]*Volume, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT v.name, v.labels, v.anonymous, v.created_at,
		IFNULL((SELECT group_concat(container_id) FROM container_volumes cv WHERE cv.volume = v.name), '')
		FROM volumes v `+where+` ORDER BY v.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	defer rows.Close()
	var out []*Volume
	for rows.Next() {
		v := &Volume{}
		var labels, users string
		var created int64
		if err := rows.Scan(&v.Name, &labels, &v.Anonymous, &created, &users); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(labels), &v.Labels)
		v.Created, v.Path = time.Unix(0, created), s.volumePath(v.Name)
		if users != "" {
			v.UsedBy = strings.Split(users, ",")
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// RemoveVolume deletes a volume that no container uses.
func (s *Service) RemoveVolume(ctx context.Context, name string, force bool) error {
	v, err := s.InspectVolume(ctx, name)
	if errdefs.IsNotFound(err) && force {
		return nil
	}
	if err != nil {
		return err
	}
	if len(v.UsedBy) > 0 {
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("remove %s: volume is in use - [%s]", name, strings.Join(v.UsedBy, ", ")))
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM volumes WHERE name = ?`, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	if err := os.RemoveAll(filepath.Dir(s.volumePath(name))); err != nil {
		return fmt.Errorf("remove volume %s: %w", name, err)
	}
	return nil
}

// volumeUse is a volume a container mounts.
type volumeUse struct {
	name, destination string
	anonymous         bool
}

// binds parses a container's -v options, keyed by clean destination.
func binds(c *Container) ([]bind, map[string]bind, error) {
	var list []bind
	byDest := map[string]bind{}
	for _, spec := range c.HostConfig.Binds {
		b, err := parseBind(spec)
		if err != nil {
			return nil, nil, err
		}
		list = append(list, b)
		byDest[filepath.Clean(b.Destination)] = b
	}
	return list, byDest, nil
}

// volumesToCreate lists the named volumes a new container's binds name and
// the anonymous volumes its image's VOLUMEs need (those no bind covers).
func volumesToCreate(c *Container) ([]volumeUse, error) {
	list, covered, err := binds(c)
	if err != nil {
		return nil, err
	}
	var uses []volumeUse
	for _, b := range list {
		if b.Named {
			if !validVolumeName().MatchString(b.Source) {
				return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid volume name %q", b.Source))
			}
			uses = append(uses, volumeUse{name: b.Source, destination: b.Destination})
		}
	}
	for dest := range c.Config.Volumes {
		if _, ok := covered[filepath.Clean(dest)]; !ok {
			uses = append(uses, volumeUse{name: newID(), destination: dest, anonymous: true})
		}
	}
	return uses, nil
}

// volumesOf reads the volumes a container mounts, by destination.
func (s *Service) volumesOf(ctx context.Context, id string) ([]volumeUse, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT volume, destination FROM container_volumes WHERE container_id = ? ORDER BY destination`, id)
	if err != nil {
		return nil, fmt.Errorf("read volumes of %s: %w", shortID(id), err)
	}
	defer rows.Close()
	var uses []volumeUse
	for rows.Next() {
		var u volumeUse
		if err := rows.Scan(&u.name, &u.destination); err != nil {
			return nil, err
		}
		uses = append(uses, u)
	}
	return uses, rows.Err()
}

// volumeMounts are the bind mounts of a container's -v options and volumes.
func (s *Service) volumeMounts(ctx context.Context, c *Container) ([]runtime.Mount, error) {
	list, byDest, err := binds(c)
	if err != nil {
		return nil, err
	}
	var mounts []runtime.Mount
	for _, b := range list {
		if b.Named {
			continue // from the container's volumes below
		}
		if _, err := os.Stat(b.Source); errors.Is(err, os.ErrNotExist) {
			// Docker creates a missing host directory of a bind.
			if err := os.MkdirAll(b.Source, 0o755); err != nil {
				return nil, fmt.Errorf("create bind source %s: %w", b.Source, err)
			}
		}
		mounts = append(mounts, runtime.Mount{Source: b.Source, Destination: b.Destination, ReadOnly: b.ReadOnly})
	}
	uses, err := s.volumesOf(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for _, u := range uses {
		mounts = append(mounts, runtime.Mount{Source: s.volumePath(u.name), Destination: u.destination, ReadOnly: byDest[filepath.Clean(u.destination)].ReadOnly})
	}
	return mounts, nil
}

// mountPoints lists a container's binds and volumes as docker inspect
// shows them, by destination.
func (s *Service) mountPoints(ctx context.Context, c *Container) ([]MountPoint, error) {
	list, byDest, err := binds(c)
	if err != nil {
		return nil, err
	}
	var out []MountPoint
	for _, b := range list {
		if !b.Named {
			out = append(out, MountPoint{Type: "bind", Source: b.Source, Destination: b.Destination, Mode: b.Mode, RW: !b.ReadOnly})
		}
	}
	uses, err := s.volumesOf(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for _, u := range uses {
		m := MountPoint{Type: "volume", Name: u.name, Source: s.volumePath(u.name), Destination: u.destination, RW: true}
		if b, ok := byDest[filepath.Clean(u.destination)]; ok {
			// A named volume: Docker shows its mode, "z" by default.
			m.Mode, m.RW = b.Mode, !b.ReadOnly
			if m.Mode == "" {
				m.Mode = "z"
			}
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Destination < out[j].Destination })
	return out, nil
}
