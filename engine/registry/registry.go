// Package registry pulls images from Docker and OCI registries into the
// image store. The protocol (token auth, manifests, manifest lists, blob
// digests) is go-containerregistry's; this package picks the platform, keeps
// plain HTTP to the registries allowed it, and hands the image to the store
// with its config as it is, so a pulled image has the ID it has upstream.
package registry

import (
	"context"
	"fmt"
	"net/http"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/archive"
	"github.com/skiff-dev/skiff/engine/image"
)

// Options tune a pull.
type Options struct {
	// Insecure lists the registries reached over plain HTTP besides the
	// loopback ones: "host", "host:port" or a CIDR such as "10.0.0.0/8".
	Insecure []string
	// Platform is the platform picked from a manifest list; the host's
	// (linux and the engine's architecture) when nil.
	Platform *v1.Platform
	// Transport carries the requests; http.DefaultTransport when nil.
	Transport http.RoundTripper
	// Progress, when set, is told each step of each layer's pull, one call
	// at a time though layers download in parallel. The first call comes
	// once the manifest and config are in, so an unknown image fails before
	// any.
	Progress func(Progress)
	// Credentials finds the account to use for a registry host
	// ("host[:port]"; "docker.io" for Docker Hub). Nil, or false, pulls
	// anonymously. An account is sent to its own host only (and to that
	// host's token service on the same domain), never on a redirect or to
	// a foreign layer's URL.
	Credentials func(host string) (Credentials, bool)
	// Mirrors are tried in order, before Docker Hub itself, for images of
	// docker.io ("https://mirror.example.com").
	Mirrors []string
	// MaxConcurrentDownloads caps the layers fetched at once (Docker's
	// --max-concurrent-downloads); 0 is Docker's default, 3.
	MaxConcurrentDownloads int
}

// platform is the platform pulled: Platform, or the host's.
func (o Options) platform() v1.Platform {
	if o.Platform != nil {
		return *o.Platform
	}
	return hostPlatform()
}

// Credentials are a registry account, as `docker login` gives them: a
// username and password, or an identity token from an OAuth flow, or a
// bearer token for the registry itself.
type Credentials struct {
	Username      string
	Password      string
	IdentityToken string
	RegistryToken string
}

// Result says what a pull stored.
type Result struct {
	ID     digest.Digest // the image ID: its config's digest
	Digest digest.Digest // the manifest's digest
	Tag    string        // the familiar tag set, "" when pulled by digest
	Layers int
	// UpToDate says the store had the image already, under the tag pulled.
	UpToDate bool
}

// Pull fetches the image ref names (a familiar reference such as "busybox",
// "host:port/repo:tag" or "repo@sha256:...") for the platform and stores it,
// tagging ref when it names a tag. Layers download in parallel (up to
// MaxConcurrentDownloads) and each unpacks as it downloads. Every blob is
// checked against its digest as it streams in, and every layer,
// uncompressed, against the config's diff ID; a pull that fails leaves
// nothing of the image registered.
func Pull(ctx context.Context, store *image.Service, ref string, opts Options) (Result, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return Result{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference %q: %v", ref, err))
	}
	named = reference.TagNameOnly(named)
	platform := opts.platform()
	img, err := fetchImage(ctx, named, opts)
	if err == nil {
		var res Result
		if res, err = register(ctx, store, named, img, opts); err == nil {
			recordPulled(ctx, store, named, img)
			return res, nil
		}
	}
	if derr := dockerError(err, named, platform); derr != err {
		return Result{}, derr
	}
	return Result{}, fmt.Errorf("pull %s: %w", reference.FamiliarString(named), err)
}

// fetch resolves named to the image for the platform; only its manifest is
// read here, the config and layers when the store asks for them.
func fetch(ctx context.Context, named reference.Named, opts Options) (v1.Image, error) {
	allowed := insecureHosts(opts.Insecure)
	domain := reference.Domain(named)
	gref, err := name.ParseReference(named.String(), nameOptions(allowed, domain)...)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference: %v", err))
	}
	img, err := remote.Image(gref,
		remote.WithContext(ctx),
		remote.WithPlatform(opts.platform()),
		remote.WithAuthFromKeychain(keychain{opts.Credentials}),
		remote.WithTransport(capManifests{next: baseTransport(opts.Transport, allowed, gref.Context().RegistryStr())}))
	if err != nil {
		return nil, fmt.Errorf("fetch manifest: %w", err)
	}
	return img, nil
}

// register stores img through the image store.
func register(ctx context.Context, store *image.Service, named reference.Named, img v1.Image, opts Options) (Result, error) {
	manifest, err := img.Manifest()
	if err != nil {
		return Result{}, fmt.Errorf("read manifest: %w", err)
	}
	mdigest, err := img.Digest()
	if err != nil {
		return Result{}, fmt.Errorf("manifest digest: %w", err)
	}
	// The library checks this too; a pull by digest must get that image.
	if c, ok := named.(reference.Canonical); ok && c.Digest().String() != mdigest.String() {
		return Result{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"manifest does not match its digest: pulled %s, content hashes to %s", c.Digest(), mdigest))
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return Result{}, fmt.Errorf("fetch config %s: %w", manifest.Config.Digest, err)
	}
	// The config is the image ID: check it here rather than trust the
	// library's reader to have done so.
	configDigest := digest.FromBytes(config)
	if configDigest.String() != manifest.Config.Digest.String() {
		return Result{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"config does not match its digest: manifest says %s, content hashes to %s", manifest.Config.Digest, configDigest))
	}
	layers, err := img.Layers()
	if err != nil {
		return Result{}, fmt.Errorf("list layers: %w", err)
	}
	if len(layers) != len(manifest.Layers) {
		return Result{}, fmt.Errorf("manifest lists %d layers, image %d", len(manifest.Layers), len(layers))
	}
	report := newReporter(opts.Progress)
	queue := newDownloadQueue(opts.MaxConcurrentDownloads)
	li := archive.LoadImage{ConfigDigest: configDigest, Config: config}
	blobs := make([]digest.Digest, len(layers))
	for i, l := range layers {
		blobs[i] = digest.Digest(manifest.Layers[i].Digest.String())
		p := layerPull{ctx: ctx, index: i, layer: l, desc: manifest.Layers[i], report: report, queue: queue, tmpDir: store.TempDir()}
		li.Layers = append(li.Layers, archive.LoadLayer{Open: p.open, Digest: blobs[i]})
	}
	var tag string
	key := configDigest.String() // what names the image in the store after the pull
	if t, ok := named.(reference.NamedTagged); ok {
		if _, pinned := named.(reference.Canonical); !pinned {
			tag = reference.FamiliarString(t)
			li.RepoTags = []string{tag}
			key = tag
		}
	}
	prior, err := store.Resolve(ctx, key)
	upToDate := err == nil && prior == configDigest
	var fetched []int
	plan := func(i int, plan image.LayerPlan) {
		switch plan {
		case image.LayerStored:
			report.step(blobs[i], AlreadyExists)
		case image.LayerRead:
			queue.expect(i)
			report.step(blobs[i], PullingFSLayer)
			fetched = append(fetched, i)
		case image.LayerWait: // another pull fetches it
			report.step(blobs[i], PullingFSLayer)
			report.step(blobs[i], Waiting)
			fetched = append(fetched, i)
		}
	}
	res, err := store.RegisterWith(ctx, li, image.RegisterOptions{Parallel: true, Plan: plan})
	if err != nil {
		return Result{}, err
	}
	for _, i := range fetched {
		report.step(blobs[i], PullComplete)
	}
	return Result{ID: res.ID, Digest: digest.Digest(mdigest.String()), Tag: tag, Layers: len(layers), UpToDate: upToDate}, nil
}
