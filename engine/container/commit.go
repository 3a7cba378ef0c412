package container

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	containertypes "github.com/moby/moby/api/types/container"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/engine/image"
	"github.com/skiff-dev/skiff/engine/layer"
	"github.com/skiff-dev/skiff/engine/runtime/cgroup"
)

// CommitOptions are docker commit's.
type CommitOptions struct {
	Tag     string   // repository[:tag], or "" for an untagged image
	Comment string   // -m
	Author  string   // -a
	Changes []string // -c, Dockerfile instructions applied to the config
	// Config, when not nil, replaces the container's config in the image
	// (the API's JSON body), before Changes.
	Config *containertypes.Config
	Pause  bool // freeze a running container while its files are read
	// ImageConfig, when not nil, is the new image's config, whole: the
	// builder's, which keeps what a build step's container does not (ONBUILD
	// triggers, a SHELL) and none of what it adds (build args).
	ImageConfig *dockerspec.DockerOCIImageConfig
	// CreatedBy is the history's description of the commit; "" is the
	// container's command, as Docker's commit.
	CreatedBy string
}

// Commit saves a container's changes as a new image whose parent is the
// container's image: the tutorial's "save the container's state".
func (s *Service) Commit(ctx context.Context, ref string, opts CommitOptions) (digest.Digest, error) {
	c, err := s.get(ctx, ref)
	if err != nil {
		return "", err
	}
	var tags []reference.NamedTagged
	if opts.Tag != "" {
		t, err := image.ParseTag(opts.Tag)
		if err != nil {
			return "", err
		}
		tags = append(tags, t)
	}
	cfg := imageConfigOf(c.Config)
	if opts.Config != nil {
		cfg = imageConfigOf(opts.Config)
	}
	if opts.ImageConfig != nil {
		cfg = *opts.ImageConfig
	}
	if err := image.ApplyChanges(&cfg, opts.Changes); err != nil {
		return "", err
	}
	if opts.Pause && c.State.Status == containertypes.StateRunning {
		if cg, err := cgroup.Load(cgroupParent, c.ID); err == nil && cg.Freeze() == nil {
			defer cg.Thaw()
		}
	}
	_, hidden, err := s.changes(ctx, c)
	if err != nil {
		return "", err
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(layer.DiffExcept(ctx, filepath.Join(s.stateDir(c.ID), "upper"), pw, hidden))
	}()
	id, err := s.images.CreateChild(ctx, image.ChildOptions{
		Parent:    c.ImageID,
		Layer:     pr,
		Config:    cfg,
		CreatedBy: createdBy(c, opts.CreatedBy),
		Comment:   opts.Comment,
		Author:    opts.Author,
		Tags:      tags,
	})
	pr.CloseWithError(err)
	if err != nil {
		return "", fmt.Errorf("commit container %s: %w", shortID(c.ID), err)
	}
	s.publish(c, "commit", map[string]string{"comment": opts.Comment, "imageID": id.String()})
	return id, nil
}

// createdBy describes a commit in the image's history: as Docker's commit,
// the container's command, unless the caller (the builder) says otherwise.
func createdBy(c *Container, given string) string {
	if given != "" {
		return given
	}
	return strings.Join(c.Config.Cmd, " ")
}

// imageConfigOf is the part of a container's config an image keeps.
func imageConfigOf(c *containertypes.Config) dockerspec.DockerOCIImageConfig {
	var cfg dockerspec.DockerOCIImageConfig
	cfg.User, cfg.Env, cfg.WorkingDir, cfg.StopSignal = c.User, slices.Clone(c.Env), c.WorkingDir, c.StopSignal
	cfg.Entrypoint, cfg.Cmd = slices.Clone(c.Entrypoint), slices.Clone(c.Cmd)
	cfg.Labels, cfg.OnBuild, cfg.Shell = c.Labels, c.OnBuild, c.Shell
	if len(c.ExposedPorts) > 0 {
		cfg.ExposedPorts = map[string]struct{}{}
		for p := range c.ExposedPorts {
			cfg.ExposedPorts[p.String()] = struct{}{}
		}
	}
	cfg.Volumes = c.Volumes
	cfg.Env = slices.DeleteFunc(cfg.Env, func(kv string) bool { return strings.HasPrefix(kv, "HOSTNAME=") })
	return cfg
}

// Changes lists a container's filesystem changes (docker diff).
func (s *Service) Changes(ctx context.Context, ref string) ([]layer.Change, error) {
	c, err := s.get(ctx, ref)
	if err != nil {
		return nil, err
	}
	changes, _, err := s.changes(ctx, c)
	return changes, err
}

// The mount points the runtime creates in a container's upper directory
// when the image lacks them: Docker keeps them in an init layer under the
// container's, so that neither diff nor commit shows them.
var (
	initFiles = []string{"etc/hostname", "etc/hosts", "etc/resolv.conf"}
	initDirs  = []string{"dev", "proc", "sys"}
)

// changes lists c's changes without the runtime's mount points, and
// returns those hidden (paths relative to the upper directory): the mount
// points, and the directories that changed only because they were created
// in them.
func (s *Service) changes(ctx context.Context, c *Container) ([]layer.Change, map[string]bool, error) {
	lower, err := s.images.ChainPaths(ctx, c.TopLayer)
	if err != nil {
		return nil, nil, err
	}
	upper := filepath.Join(s.stateDir(c.ID), "upper")
	all, err := layer.Changes(upper, lower)
	if err != nil {
		return nil, nil, err
	}
	hidden := map[string]bool{}
	for _, ch := range all {
		rel := strings.TrimPrefix(ch.Path, "/")
		fi, err := os.Lstat(filepath.Join(upper, rel))
		if err != nil {
			continue
		}
		switch {
		case slices.Contains(initFiles, rel) && fi.Mode().IsRegular() && fi.Size() == 0:
			hidden[rel] = true
		case slices.Contains(initDirs, rel) && ch.Kind == layer.Added && fi.IsDir() && isEmptyDir(filepath.Join(upper, rel)):
			hidden[rel] = true
		}
	}
	if len(hidden) == 0 {
		return all, hidden, nil
	}
	kinds := map[string]layer.ChangeKind{}
	for _, ch := range all {
		kinds[strings.TrimPrefix(ch.Path, "/")] = ch.Kind
	}
	// A parent of a hidden entry is hidden too when nothing else changed
	// in it and, if the image has it, its owner and mode are the image's.
	for rel := range maps.Clone(hidden) {
		for dir := filepath.Dir(rel); dir != "."; dir = filepath.Dir(dir) {
			kind, ok := kinds[dir]
			if !ok || hidden[dir] {
				continue
			}
			if slices.ContainsFunc(all, func(ch layer.Change) bool {
				p := strings.TrimPrefix(ch.Path, "/")
				return strings.HasPrefix(p, dir+"/") && !hidden[p]
			}) {
				break
			}
			if kind == layer.Modified && !sameOwnerAndMode(filepath.Join(upper, dir), lowerPath(lower, dir)) {
				break
			}
			hidden[dir] = true
		}
	}
	out := slices.DeleteFunc(all, func(ch layer.Change) bool { return hidden[strings.TrimPrefix(ch.Path, "/")] })
	return out, hidden, nil
}

func isEmptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) == 0
}

// lowerPath is rel in the topmost lower directory that has it.
func lowerPath(lowers []string, rel string) string {
	for _, l := range lowers {
		if _, err := os.Lstat(filepath.Join(l, rel)); err == nil {
			return filepath.Join(l, rel)
		}
	}
	return ""
}

func sameOwnerAndMode(a, b string) bool {
	var sa, sb unix.Stat_t
	if b == "" || unix.Lstat(a, &sa) != nil || unix.Lstat(b, &sb) != nil {
		return false
	}
	return sa.Mode == sb.Mode && sa.Uid == sb.Uid && sa.Gid == sb.Gid
}

// Export writes a container's whole filesystem as a tar (docker export).
// The overlay is mounted on the host for the time of the export; the
// container's own mount lives in its namespace only.
func (s *Service) Export(ctx context.Context, ref string, w io.Writer) error {
	c, err := s.get(ctx, ref)
	if err != nil {
		return err
	}
	lower, err := s.images.ChainPaths(ctx, c.TopLayer)
	if err != nil {
		return err
	}
	dir := s.stateDir(c.ID)
	target, err := os.MkdirTemp(dir, "export-")
	if err != nil {
		return fmt.Errorf("export container %s: %w", shortID(c.ID), err)
	}
	defer os.Remove(target)
	upper := filepath.Join(dir, "upper")
	var source, opts string
	if len(lower) == 0 {
		source, opts = upper, ""
		if err := unix.Mount(upper, target, "", unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("export container %s: bind %s: %w", shortID(c.ID), source, err)
		}
	} else {
		// Read-only overlay (two lower layers, no upper): safe beside a
		// running container's own mount of the same upper directory.
		opts = "lowerdir=" + strings.Join(append([]string{upper}, lower...), ":")
		if err := unix.Mount("overlay", target, "overlay", unix.MS_RDONLY, opts); err != nil {
			return fmt.Errorf("export container %s: mount overlay: %w", shortID(c.ID), err)
		}
	}
	defer unix.Unmount(target, unix.MNT_DETACH)
	if err := layer.Archive(ctx, target, w); err != nil {
		return fmt.Errorf("export container %s: %w", shortID(c.ID), err)
	}
	s.publish(c, "export", nil)
	return nil
}
