package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/opencontainers/go-digest"
)

// DiskUsage is what docker system df reports: the images with the bytes
// their layers share, the containers with the size of their writable layers
// and the volumes with the size of their contents.
type DiskUsage struct {
	// LayersSize counts every layer an image uses once, however many
	// images share it.
	LayersSize int64
	Images     []ImageDiskUsage
	Containers []ContainerDiskUsage
	Volumes    []VolumeDiskUsage
}

// ImageDiskUsage is an image as listed, with the part of its size that
// other listed images share.
type ImageDiskUsage struct {
	ImageSummary
	SharedSize int64
}

// ContainerDiskUsage is a container with the size of its writable layer.
type ContainerDiskUsage struct {
	*Container
	SizeRw int64
}

// VolumeDiskUsage is a volume with the size of its contents.
type VolumeDiskUsage struct {
	*Volume
	Size int64
}

// DiskUsageOptions choose what to measure; none chosen measures everything.
type DiskUsageOptions struct {
	Images, Containers, Volumes bool
}

// diskUsageWorkers bounds the directory walks running at once: they wait on
// the disk more than on the CPU, but thousands at once would only thrash.
const diskUsageWorkers = 16

// DiskUsage measures the data root's use. Image sizes come from the store.
// Writable layers and volumes are walked on every call, by a bounded pool
// of walkers: their sizes change whenever a container writes, so a cache
// would be stale or need every write reported, and the walks of 1,000
// mostly small layers take a few milliseconds.
func (e *Engine) DiskUsage(ctx context.Context, opts DiskUsageOptions) (*DiskUsage, error) {
	if !opts.Images && !opts.Containers && !opts.Volumes {
		opts = DiskUsageOptions{Images: true, Containers: true, Volumes: true}
	}
	du := &DiskUsage{}
	var dirs []string // the containers' upper directories, then the volumes'
	if opts.Images {
		if err := e.imageDiskUsage(ctx, du); err != nil {
			return nil, err
		}
	}
	if opts.Containers {
		list, err := e.containers.List(ctx, ContainerListOptions{All: true})
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			du.Containers = append(du.Containers, ContainerDiskUsage{Container: c})
			dirs = append(dirs, filepath.Join(e.ContainerDir(c.ID), "upper"))
		}
	}
	if opts.Volumes {
		list, err := e.containers.ListVolumes(ctx)
		if err != nil {
			return nil, err
		}
		for _, v := range list {
			du.Volumes = append(du.Volumes, VolumeDiskUsage{Volume: v})
			dirs = append(dirs, v.Path)
		}
	}
	sizes, err := dirSizes(ctx, dirs)
	if err != nil {
		return nil, err
	}
	for i := range du.Containers {
		du.Containers[i].SizeRw = sizes[i]
	}
	for i := range du.Volumes {
		du.Volumes[i].Size = sizes[len(du.Containers)+i]
	}
	return du, nil
}

// imageDiskUsage lists the images as docker images does and works out,
// from the layer chains, the size of all layers and what each image shares.
func (e *Engine) imageDiskUsage(ctx context.Context, du *DiskUsage) error {
	images, err := e.images.List(ctx, ImageListOptions{})
	if err != nil {
		return err
	}
	chains, err := e.layerChains(ctx)
	if err != nil {
		return err
	}
	tops, err := e.imageTopLayers(ctx)
	if err != nil {
		return err
	}
	refs := map[digest.Digest]int{} // listed images using each layer
	for _, img := range images {
		chains.walk(tops[img.ID], func(id digest.Digest) { refs[id]++ })
	}
	for id := range refs {
		du.LayersSize += chains[id].size
	}
	for _, img := range images {
		u := ImageDiskUsage{ImageSummary: img}
		chains.walk(tops[img.ID], func(id digest.Digest) {
			if refs[id] > 1 {
				u.SharedSize += chains[id].size
			}
		})
		du.Images = append(du.Images, u)
	}
	return nil
}

type layerLink struct {
	parent digest.Digest
	size   int64
}

// layerGraph maps each layer's chain ID to the one below it and its size.
type layerGraph map[digest.Digest]layerLink

// walk calls fn for top and every layer below it.
func (g layerGraph) walk(top digest.Digest, fn func(digest.Digest)) {
	for id := top; id != ""; id = g[id].parent {
		if _, ok := g[id]; !ok {
			return
		}
		fn(id)
	}
}

func (e *Engine) layerChains(ctx context.Context) (layerGraph, error) {
	rows, err := e.db.Read().QueryContext(ctx, `SELECT chain_id, IFNULL(parent, ''), size FROM layers`)
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	defer rows.Close()
	g := layerGraph{}
	for rows.Next() {
		var id, parent string
		var size int64
		if err := rows.Scan(&id, &parent, &size); err != nil {
			return nil, fmt.Errorf("list layers: %w", err)
		}
		g[digest.Digest(id)] = layerLink{parent: digest.Digest(parent), size: size}
	}
	return g, rows.Err()
}

// imageTopLayers maps image IDs to their top layer's chain ID ("" for an
// image without layers).
func (e *Engine) imageTopLayers(ctx context.Context) (map[digest.Digest]digest.Digest, error) {
	rows, err := e.db.Read().QueryContext(ctx, `SELECT id, IFNULL(top_layer, '') FROM images`)
	if err != nil {
		return nil, fmt.Errorf("list image layers: %w", err)
	}
	defer rows.Close()
	tops := map[digest.Digest]digest.Digest{}
	for rows.Next() {
		var id, top string
		if err := rows.Scan(&id, &top); err != nil {
			return nil, fmt.Errorf("list image layers: %w", err)
		}
		tops[digest.Digest(id)] = digest.Digest(top)
	}
	return tops, rows.Err()
}

// dirSizes measures directories with a bounded pool of walkers; sizes[i]
// is the size of dirs[i].
func dirSizes(ctx context.Context, dirs []string) ([]int64, error) {
	sizes := make([]int64, len(dirs))
	next := make(chan int)
	errs := make([]error, min(diskUsageWorkers, len(dirs)))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for i := range next {
				if errs[w] == nil {
					sizes[i], errs[w] = dirSize(ctx, dirs[i])
				}
			}
		})
	}
	for i := range dirs {
		next <- i
	}
	close(next)
	wg.Wait()
	return sizes, errors.Join(errs...)
}

// dirSize adds up the sizes of everything under dir but directories, a file
// with several hard links once, as Docker measures a writable layer or a
// volume. A directory removed meanwhile (its container or volume deleted)
// counts as empty.
func dirSize(ctx context.Context, dir string) (int64, error) {
	var size int64
	seen := map[uint64]bool{} // inodes of files with several links
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return ctx.Err()
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		size += fi.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("measure %s: %w", dir, err)
	}
	return size, nil
}
