package registry

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// fetchImage is fetch, through Options.Mirrors first for Docker Hub's
// images, as Docker does: each mirror in order, then Docker Hub itself.
// A mirror is left for the next on any error up to the manifest; once the
// manifest is in, the pull stays with that mirror (Docker's rule too).
func fetchImage(ctx context.Context, named reference.Named, opts Options) (v1.Image, error) {
	if reference.Domain(named) != "docker.io" || len(opts.Mirrors) == 0 {
		return fetch(ctx, named, opts)
	}
	for _, mirror := range opts.Mirrors {
		mirrored, mopts, err := viaMirror(named, mirror, opts)
		if err == nil {
			var img v1.Image
			if img, err = fetch(ctx, mirrored, mopts); err == nil {
				return img, nil
			}
		}
		if ctx.Err() != nil {
			return nil, err
		}
	}
	return fetch(ctx, named, opts)
}

// viaMirror names the image on mirror (a URL such as
// "https://mirror.example.com"); a mirror given as http:// is reached over
// plain HTTP, as configured.
func viaMirror(named reference.Named, mirror string, opts Options) (reference.Named, Options, error) {
	u, err := url.Parse(mirror)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, opts, fmt.Errorf("invalid registry mirror %q: want http(s)://host[:port]", mirror)
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		return nil, opts, errors.New("registry mirror " + mirror + ": a path is not supported")
	}
	ref := u.Host + "/" + reference.Path(named)
	if c, ok := named.(reference.Canonical); ok {
		ref += "@" + c.Digest().String()
	} else if t, ok := named.(reference.NamedTagged); ok {
		ref += ":" + t.Tag()
	}
	mirrored, err := reference.ParseNamed(ref)
	if err != nil {
		return nil, opts, fmt.Errorf("registry mirror %s: %w", mirror, err)
	}
	if u.Scheme == "http" {
		opts.Insecure = append(append([]string(nil), opts.Insecure...), u.Host)
	}
	return mirrored, opts, nil
}
