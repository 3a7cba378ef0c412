package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/image"
)

// The steps of a layer's push, in Docker's words, told to
// PushOptions.Progress; a layer waiting for a free upload slot says
// Waiting, as in a pull.
const (
	Preparing     = "Preparing"            // the layer is part of the push
	Pushing       = "Pushing"              // Current of Total uncompressed bytes sent
	Pushed        = "Pushed"               // the blob is uploaded
	LayerExists   = "Layer already exists" // the repository has the blob: not sent
	MountedFrom   = "Mounted from"         // the registry copied the blob from another repository
	defaultUpload = 5                      // Docker's --max-concurrent-uploads
)

// PushOptions tune a push.
type PushOptions struct {
	// Insecure lists the registries reached over plain HTTP besides the
	// loopback ones, as Options.Insecure.
	Insecure []string
	// Transport carries the requests; http.DefaultTransport when nil.
	Transport http.RoundTripper
	// Credentials finds the account for a registry host, as
	// Options.Credentials; it is sent to that host only.
	Credentials func(host string) (Credentials, bool)
	// MaxConcurrentUploads caps the layers uploaded at once (Docker's
	// --max-concurrent-uploads); 0 is Docker's default, 5.
	MaxConcurrentUploads int
	// Progress, when set, is told each step of each layer's push. It may
	// be called from several goroutines, one at a time.
	Progress func(PushProgress)
}

// PushProgress is one step of one layer's push.
type PushProgress struct {
	Layer  digest.Digest // the layer's diff ID: Docker names pushed layers by it
	Status string        // one of the steps above
	// Current and Total count the layer's uncompressed bytes, for Pushing.
	Current, Total int64
	// From is the repository a blob was mounted from, for MountedFrom.
	From string
}

// PushResult is the manifest a push stored under its tag.
type PushResult struct {
	Tag    string        // the tag pushed, "v1"
	Digest digest.Digest // the manifest's digest
	Size   int64         // the manifest's bytes
}

// Push uploads the local image ref names ("host:port/repo:tag", tag
// "latest" when none) to its registry: the layers the repository lacks
// (mounted from another repository of the registry when skiff knows one
// has them, else compressed and uploaded as they are read), the config,
// then the manifest under the tag.
func Push(ctx context.Context, store *image.Service, ref string, opts PushOptions) (PushResult, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return PushResult{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference %q: %v", ref, err))
	}
	tagged, ok := reference.TagNameOnly(named).(reference.NamedTagged)
	if !ok {
		return PushResult{}, errdefs.ErrInvalidArgument.WithMessage("push by digest is not supported: name a tag")
	}
	id, err := store.Resolve(ctx, reference.FamiliarString(tagged))
	if errdefs.IsNotFound(err) {
		return PushResult{}, errdefs.ErrNotFound.WithMessage("An image does not exist locally with the tag: " + reference.FamiliarName(tagged))
	}
	if err != nil {
		return PushResult{}, err
	}
	config, layers, err := store.Layers(ctx, id)
	if err != nil {
		return PushResult{}, err
	}
	p, err := newPusher(ctx, store, tagged, layers, opts)
	if err != nil {
		return PushResult{}, accountRefused(fmt.Errorf("push %s: %w", reference.FamiliarString(tagged), err))
	}
	res, err := p.push(ctx, config, layers)
	if err != nil {
		return PushResult{}, accountRefused(fmt.Errorf("push %s: %w", reference.FamiliarString(tagged), err))
	}
	return res, nil
}

// pusher is one push: the repository, an authenticated client for its
// registry, and what skiff knows of the layers' blobs there.
type pusher struct {
	store    *image.Service
	tag      reference.NamedTagged
	repo     name.Repository
	registry string // the normalized host, the distribution table's key
	client   *http.Client
	base     string // scheme://host of the registry
	uploads  int
	report   func(PushProgress)
	sources  map[digest.Digest][]image.BlobSource
}

func newPusher(ctx context.Context, store *image.Service, tag reference.NamedTagged, layers []image.StoredLayer, opts PushOptions) (*pusher, error) {
	allowed := insecureHosts(opts.Insecure)
	repo, err := name.NewRepository(tag.Name(), nameOptions(allowed, reference.Domain(tag))...)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid repository: %v", err))
	}
	p := &pusher{
		store: store, tag: tag, repo: repo,
		registry: NormalizeHost(reference.Domain(tag)),
		uploads:  opts.MaxConcurrentUploads,
		sources:  map[digest.Digest][]image.BlobSource{},
	}
	if p.uploads <= 0 {
		p.uploads = defaultUpload
	}
	if report := opts.Progress; report != nil {
		// Layers push in parallel; their steps are told one at a time.
		var mu sync.Mutex
		p.report = func(pp PushProgress) {
			mu.Lock()
			defer mu.Unlock()
			report(pp)
		}
	} else {
		p.report = func(PushProgress) {}
	}
	for _, l := range layers {
		if p.sources[l.DiffID], err = store.BlobSources(ctx, l.DiffID, p.registry, reference.Path(tag)); err != nil {
			return nil, err
		}
	}
	auth, err := keychain{opts.Credentials}.Resolve(repo.Registry)
	if err != nil {
		return nil, err
	}
	// The token asks for push on the repository and pull on those skiff
	// may mount blobs from, as Docker's does.
	scopes := []string{repo.Scope(transport.PushScope)}
	p.base = repo.Registry.Scheme() + "://" + repo.RegistryStr()
	t, err := transport.NewWithContext(ctx, repo.Registry, auth,
		baseTransport(opts.Transport, allowed, repo.RegistryStr()), append(scopes, p.mountScopes()...))
	if err != nil {
		return nil, err
	}
	p.client = &http.Client{Transport: t}
	return p, nil
}

// mountScopes are the pull scopes of the repositories a blob may be
// mounted from.
func (p *pusher) mountScopes() []string {
	var scopes []string
	seen := map[string]bool{reference.Path(p.tag): true}
	for _, list := range p.sources {
		for _, s := range list {
			if !seen[s.Repository] {
				seen[s.Repository] = true
				scopes = append(scopes, p.repo.Registry.Repo(s.Repository).Scope(transport.PullScope))
			}
		}
	}
	return scopes
}

func (p *pusher) push(ctx context.Context, config []byte, layers []image.StoredLayer) (PushResult, error) {
	for _, l := range layers {
		p.report(PushProgress{Layer: l.DiffID, Status: Preparing})
	}
	descs := make([]blobDesc, len(layers))
	errs := make([]error, len(layers))
	slots := make(chan struct{}, p.uploads)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, l := range layers {
		// Docker says Waiting of the layers queued behind the first
		// MaxConcurrentUploads.
		if i >= p.uploads {
			p.report(PushProgress{Layer: l.DiffID, Status: Waiting})
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return PushResult{}, firstError(errs, ctx.Err())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			descs[i], errs[i] = p.pushLayer(ctx, l)
			if errs[i] != nil {
				cancel() // one failed layer fails the push: stop the others
			}
		}()
	}
	wg.Wait()
	if err := firstError(errs, nil); err != nil {
		return PushResult{}, err
	}
	var sources []image.BlobSource
	for i, d := range descs {
		sources = append(sources, image.BlobSource{DiffID: layers[i].DiffID, Blob: d.Digest, MediaType: d.MediaType, Size: d.Size,
			Registry: p.registry, Repository: reference.Path(p.tag)})
	}
	if err := p.pushConfig(ctx, config); err != nil {
		return PushResult{}, err
	}
	manifest, mediaType, err := buildManifest(config, descs)
	if err != nil {
		return PushResult{}, err
	}
	if err := p.putManifest(ctx, manifest, mediaType); err != nil {
		return PushResult{}, err
	}
	// A hint for later pushes; the push itself is done.
	p.store.AddBlobSources(context.WithoutCancel(ctx), sources)
	return PushResult{Tag: p.tag.Tag(), Digest: digest.FromBytes(manifest), Size: int64(len(manifest))}, nil
}

// firstError is the error that failed a push: the first layer's that is
// not the cancellation it caused in the others.
func firstError(errs []error, fallback error) error {
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return fallback
}

// blobDesc is a blob as the manifest lists it.
type blobDesc struct {
	MediaType string        `json:"mediaType"`
	Size      int64         `json:"size"`
	Digest    digest.Digest `json:"digest"`
}

// Media types of the manifests a push writes: Docker's schema 2, or OCI's
// when a layer reused from the registry is in an OCI manifest already.
const (
	dockerManifest  = "application/vnd.docker.distribution.manifest.v2+json"
	dockerConfig    = "application/vnd.docker.container.image.v1+json"
	dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	ociManifest     = "application/vnd.oci.image.manifest.v1+json"
	ociConfig       = "application/vnd.oci.image.config.v1+json"
	ociLayerGzip    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// buildManifest is the image's manifest, schema 2 unless a layer's blob
// has an OCI media type (zstd, say), which only an OCI manifest can list.
func buildManifest(config []byte, layers []blobDesc) ([]byte, string, error) {
	oci := false
	for _, l := range layers {
		if l.MediaType != dockerLayerGzip && l.MediaType != ociLayerGzip {
			oci = true
		}
	}
	mediaType, configType, gzipType := dockerManifest, dockerConfig, dockerLayerGzip
	if oci {
		mediaType, configType, gzipType = ociManifest, ociConfig, ociLayerGzip
	}
	m := struct {
		SchemaVersion int        `json:"schemaVersion"`
		MediaType     string     `json:"mediaType"`
		Config        blobDesc   `json:"config"`
		Layers        []blobDesc `json:"layers"`
	}{2, mediaType, blobDesc{configType, int64(len(config)), digest.FromBytes(config)}, make([]blobDesc, len(layers))}
	for i, l := range layers {
		if l.MediaType == dockerLayerGzip || l.MediaType == ociLayerGzip {
			l.MediaType = gzipType
		}
		m.Layers[i] = l
	}
	b, err := json.MarshalIndent(m, "", "   ")
	if err != nil {
		return nil, "", fmt.Errorf("build manifest: %w", err)
	}
	return b, mediaType, nil
}
