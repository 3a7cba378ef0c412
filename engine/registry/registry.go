// Package registry pulls images from Docker and OCI registries into the
// image store. The protocol (token auth, manifests, manifest lists, blob
// digests) is go-containerregistry's; this package picks the platform, keeps
// plain HTTP to the registries allowed it, and hands the image to the store
// with its config as it is, so a pulled image has the ID it has upstream.
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/archive"
	"github.com/skiff-dev/skiff/engine/compression"
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
	// Progress, when set, is told each step of each layer's pull, from the
	// goroutine calling Pull. The first call comes once the manifest and
	// config are in, so an unknown image fails before any.
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
// tagging ref when it names a tag. Every blob is checked against its digest
// as it streams in, and every layer, uncompressed, against the config's diff
// ID; a pull that fails leaves nothing of the image registered.
func Pull(ctx context.Context, store *image.Service, ref string, opts Options) (Result, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return Result{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference %q: %v", ref, err))
	}
	named = reference.TagNameOnly(named)
	img, err := fetch(ctx, named, opts)
	if err != nil {
		return Result{}, fmt.Errorf("pull %s: %w", reference.FamiliarString(named), err)
	}
	res, err := register(ctx, store, named, img, reporter(opts.Progress))
	if err != nil {
		return Result{}, fmt.Errorf("pull %s: %w", reference.FamiliarString(named), err)
	}
	recordPulled(ctx, store, named, img)
	return res, nil
}

// fetch resolves named to the image for the platform; only its manifest is
// read here, the config and layers when the store asks for them.
func fetch(ctx context.Context, named reference.Named, opts Options) (v1.Image, error) {
	allowed := insecureHosts(opts.Insecure)
	domain := reference.Domain(named)
	var nameOpts []name.Option
	if allowed(domain) {
		nameOpts = append(nameOpts, name.Insecure)
	}
	gref, err := name.ParseReference(named.String(), nameOpts...)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference: %v", err))
	}
	platform := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if opts.Platform != nil {
		platform = *opts.Platform
	}
	img, err := remote.Image(gref,
		remote.WithContext(ctx),
		remote.WithPlatform(platform),
		remote.WithAuthFromKeychain(keychain{opts.Credentials}),
		remote.WithTransport(baseTransport(opts.Transport, allowed, gref.Context().RegistryStr())))
	if err != nil {
		return nil, classify(fmt.Errorf("fetch manifest: %w", err))
	}
	return img, nil
}

// register stores img through the image store.
func register(ctx context.Context, store *image.Service, named reference.Named, img v1.Image, report reporter) (Result, error) {
	manifest, err := img.Manifest()
	if err != nil {
		return Result{}, classify(fmt.Errorf("read manifest: %w", err))
	}
	mdigest, err := img.Digest()
	if err != nil {
		return Result{}, fmt.Errorf("manifest digest: %w", err)
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return Result{}, classify(fmt.Errorf("fetch config: %w", err))
	}
	// The config is the image ID: check it here rather than trust the
	// library's reader to have done so.
	configDigest := digest.FromBytes(config)
	if configDigest.String() != manifest.Config.Digest.String() {
		return Result{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"config does not match its digest: manifest says %s, content hashes to %s", manifest.Config.Digest, configDigest))
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return Result{}, fmt.Errorf("parse config: %w", err)
	}
	if len(cfg.RootFS.DiffIDs) != len(manifest.Layers) {
		return Result{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"config lists %d layers, manifest %d", len(cfg.RootFS.DiffIDs), len(manifest.Layers)))
	}
	diffIDs := make([]digest.Digest, len(cfg.RootFS.DiffIDs))
	for i, d := range cfg.RootFS.DiffIDs {
		diffIDs[i] = digest.Digest(d.String())
	}
	layers, err := img.Layers()
	if err != nil {
		return Result{}, fmt.Errorf("list layers: %w", err)
	}
	// Register skips the layers the store has; say so up front, as Docker
	// does, and which the others are.
	stored := store.StoredLayers(ctx, diffIDs)
	li := archive.LoadImage{ConfigDigest: configDigest, Config: config}
	for i, l := range layers {
		d := digest.Digest(manifest.Layers[i].Digest.String())
		if i < stored {
			report.step(d, AlreadyExists)
		} else {
			report.step(d, PullingFSLayer)
		}
		li.Layers = append(li.Layers, archive.LoadLayer{Open: opener(l, manifest.Layers[i], report), Digest: d})
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
	res, err := store.Register(ctx, li)
	if err != nil {
		return Result{}, classify(err)
	}
	for _, l := range manifest.Layers[stored:] {
		report.step(digest.Digest(l.Digest.String()), PullComplete)
	}
	return Result{ID: res.ID, Digest: digest.Digest(mdigest.String()), Tag: tag, Layers: len(layers), UpToDate: upToDate}, nil
}

// opener returns a LoadLayer.Open that streams layer l (desc in the
// manifest) from the registry, decompressed.
func opener(l v1.Layer, desc v1.Descriptor, report reporter) func() (io.ReadCloser, error) {
	d := digest.Digest(desc.Digest.String())
	return func() (io.ReadCloser, error) {
		compressed, err := l.Compressed()
		if err != nil {
			return nil, classify(fmt.Errorf("fetch layer %s: %w", d, err))
		}
		blob := &countingReader{ReadCloser: compressed, report: report, layer: d, total: desc.Size}
		plain, _, err := compression.Decompress(blob)
		if err != nil {
			blob.Close()
			return nil, fmt.Errorf("decompress layer %s: %w", d, err)
		}
		return &verifiedLayer{plain: plain, blob: blob, digest: d, report: report}, nil
	}
}

// verifiedLayer reads a decompressed layer. At the end of the decompressed
// stream it reads what is left of the blob, since the blob's digest is
// checked only when its reader reaches the end, and a decompressor may stop
// short of it (trailing bytes, a padded last frame).
type verifiedLayer struct {
	plain  io.ReadCloser
	blob   io.ReadCloser
	digest digest.Digest
	report reporter
	done   bool // the blob was read to its end and checked
}

func (v *verifiedLayer) Read(p []byte) (int, error) {
	n, err := v.plain.Read(p)
	switch {
	case errors.Is(err, io.EOF):
		if !v.done {
			v.done = true
			v.report.step(v.digest, VerifyingChecksum)
			if _, derr := io.Copy(io.Discard, v.blob); derr != nil {
				return n, fmt.Errorf("layer %s: %w", v.digest, derr)
			}
			v.report.step(v.digest, DownloadComplete)
		}
	case err != nil:
		err = fmt.Errorf("layer %s: %w", v.digest, err)
	}
	return n, err
}

func (v *verifiedLayer) Close() error {
	return errors.Join(v.plain.Close(), v.blob.Close())
}

// classify gives a registry's "unknown" answers the not-found class, so the
// API answers 404 as Docker does.
func classify(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %w", errdefs.ErrNotFound, err)
	}
	return err
}
