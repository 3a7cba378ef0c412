package image

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/archive"
	"github.com/skiff-dev/skiff/engine/layer"
)

// RegisterOptions tune Register.
type RegisterOptions struct {
	// Parallel reads the layers the store lacks all at once, each from a
	// goroutine of its own: each unpacks into its own directory, so a
	// registry's layers download and unpack side by side. The layers'
	// Open funcs cap how many streams run at once, if they must.
	Parallel bool
	// Plan, when set, is told what becomes of each layer (by its index),
	// in order, before any layer is opened.
	Plan func(layer int, plan LayerPlan)
}

// LayerPlan says what Register does with a layer.
type LayerPlan int

const (
	LayerStored LayerPlan = iota // the store has it: not opened
	LayerRead                    // opened and read
	// LayerWait: another Register is reading it; this one waits for that
	// one to store it rather than read it too, and opens it only if that
	// one fails.
	LayerWait
)

// Register stores one image from its config and layer streams, as found in
// an archive or fetched from a registry, and tags it with li.RepoTags. The
// config is stored as it is, so the image ID is its digest. Layers already
// stored are not opened; every layer opened is checked against the config's
// diff ID. On error nothing of the image stays registered.
func (s *Service) Register(ctx context.Context, li archive.LoadImage) (LoadResult, error) {
	return s.RegisterWith(ctx, li, RegisterOptions{})
}

// RegisterWith is Register with options. A layer another Register is
// reading is waited for rather than read twice; if that one fails, this one
// reads the layer itself.
func (s *Service) RegisterWith(ctx context.Context, li archive.LoadImage, opts RegisterOptions) (LoadResult, error) {
	var cfg dockerspec.DockerOCIImage
	if err := json.Unmarshal(li.Config, &cfg); err != nil {
		return LoadResult{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid image config: %v", err))
	}
	diffIDs := cfg.RootFS.DiffIDs
	if len(diffIDs) != len(li.Layers) {
		return LoadResult{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"config lists %d layers, archive has %d", len(diffIDs), len(li.Layers)))
	}
	var tags []reference.NamedTagged
	for _, t := range li.RepoTags {
		tag, err := ParseTag(t)
		if err != nil {
			return LoadResult{}, err
		}
		tags = append(tags, tag)
	}
	chainIDs := make([]digest.Digest, len(diffIDs))
	var missing []digest.Digest
	var todo []int // indexes of the missing layers
	for i, diffID := range diffIDs {
		var parent digest.Digest
		if i > 0 {
			parent = chainIDs[i-1]
		}
		chainIDs[i] = layer.ChainID(parent, diffID)
		if !s.hasLayer(ctx, chainIDs[i]) {
			missing = append(missing, chainIDs[i])
			todo = append(todo, i)
		}
	}
	// Released only once the commit below is done (or failed), so that a
	// Register waiting for one of these layers then finds it stored.
	waits := s.reading.claim(missing)
	defer s.reading.release(missing, waits)
	if opts.Plan != nil {
		for i, chainID := range chainIDs {
			_, wait := waits[chainID]
			switch {
			case !slices.Contains(todo, i):
				opts.Plan(i, LayerStored)
			case wait:
				opts.Plan(i, LayerWait)
			default:
				opts.Plan(i, LayerRead)
			}
		}
	}

	img := newImage{config: li.Config, layers: make([]*newLayer, len(li.Layers)), tags: tags}
	read := func(ctx context.Context, i int) error {
		if wait, ok := waits[chainIDs[i]]; ok {
			select {
			case <-wait:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			if s.hasLayer(ctx, chainIDs[i]) {
				return nil
			}
			// The other Register failed: read the layer here.
		}
		l, err := s.readArchiveLayer(ctx, li.Layers[i], diffIDs[i])
		if err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
		img.layers[i] = l
		return nil
	}
	if err := forEach(ctx, todo, opts.Parallel, read); err != nil {
		discardAll(img.layers)
		return LoadResult{}, err
	}
	if li.Parent != "" && s.isAncestor(ctx, li.Parent, diffIDs) {
		img.parent = li.Parent
	}
	id, moved, err := s.commit(ctx, img) // commit takes over the layers
	if err != nil {
		return LoadResult{}, err
	}
	res := LoadResult{ID: id, Moved: map[string]digest.Digest{}}
	for _, t := range tags {
		res.Tags = append(res.Tags, reference.FamiliarString(t))
	}
	for _, m := range moved {
		res.Moved[m.tag] = m.previous
	}
	return res, nil
}

// forEach calls fn for each index, one after the other or all at once. The
// first error cancels the others' context and is the one returned; every
// call has returned when forEach does.
func forEach(ctx context.Context, indexes []int, parallel bool, fn func(context.Context, int) error) error {
	if !parallel {
		for _, i := range indexes {
			if err := fn(ctx, i); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, i := range indexes {
		wg.Go(func() {
			if err := fn(ctx, i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
					cancel(err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

// inflight is the set of layers (by chain ID) being read by a Register, so
// that concurrent pulls of one layer fetch it once.
type inflight struct {
	mu sync.Mutex
	m  map[digest.Digest]chan struct{}
}

// claim marks the chain IDs nobody reads as read by the caller, and returns
// the others with the channel closed when their reader is done. Claims are
// taken all at once, so a caller only ever waits for claims older than its
// own: no two Registers wait for each other.
func (f *inflight) claim(chainIDs []digest.Digest) map[digest.Digest]chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[digest.Digest]chan struct{}{}
	}
	waits := map[digest.Digest]chan struct{}{}
	for _, id := range chainIDs {
		if ch, ok := f.m[id]; ok {
			waits[id] = ch
			continue
		}
		f.m[id] = make(chan struct{})
	}
	return waits
}

// release ends the caller's claims: those of chainIDs it did not wait for.
func (f *inflight) release(chainIDs []digest.Digest, waits map[digest.Digest]chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range chainIDs {
		if _, waited := waits[id]; waited {
			continue
		}
		close(f.m[id])
		delete(f.m, id)
	}
}
