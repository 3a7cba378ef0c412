package engine

import (
	"context"
	"fmt"
	"slices"

	"github.com/distribution/reference"

	"github.com/skiff-dev/skiff/engine/registry"
)

// Registry accounts (skiff login, POST /auth) and pushing images.

// RegistryLogin checks creds against the registry server names ("" or any
// spelling of Docker Hub is docker.io) and, once it accepts them, stores
// them for the daemon's later pulls and pushes. Docker's answer follows:
// the status "Login Succeeded" and the identity token (none: skiff does no
// OAuth exchange).
func (e *Engine) RegistryLogin(ctx context.Context, server string, creds registry.Credentials) (status, identityToken string, err error) {
	if err := registry.Login(ctx, server, creds, registry.LoginOptions{Insecure: e.registry.Insecure}); err != nil {
		return "", "", err
	}
	host := registry.NormalizeHost(server)
	if err := e.regAuth.Set(host, creds); err != nil {
		return "", "", err
	}
	e.log.Info("logged in to a registry", "registry", host, "username", creds.Username)
	return "Login Succeeded", "", nil
}

// RegistryLogout forgets the account stored for server.
func (e *Engine) RegistryLogout(ctx context.Context, server string) error {
	return e.regAuth.Delete(server)
}

// RegistryLogins returns the registries the daemon has an account for,
// without the accounts.
func (e *Engine) RegistryLogins(ctx context.Context) ([]string, error) {
	return e.regAuth.Hosts(), nil
}

// registryCredentials is the account lookup of a pull or push: the
// request's own (the docker CLI's X-Registry-Auth) first, else the one
// stored by skiff login.
func (e *Engine) registryCredentials(request func(string) (registry.Credentials, bool)) func(string) (registry.Credentials, bool) {
	return func(host string) (registry.Credentials, bool) {
		if request != nil {
			if c, ok := request(host); ok && !c.Empty() {
				return c, true
			}
		}
		return e.regAuth.Get(host)
	}
}

// ImagePush uploads the local image ref names to its registry.
func (e *Engine) ImagePush(ctx context.Context, ref string, opts registry.PushOptions) (registry.PushResult, error) {
	opts = e.registry.FillPush(opts)
	opts.Credentials = e.registryCredentials(opts.Credentials)
	res, err := registry.Push(ctx, e.images, ref, opts)
	if err != nil {
		return res, err
	}
	if id, err := e.images.Resolve(ctx, ref); err == nil {
		e.publishImage("push", id.String(), ref)
	}
	return res, nil
}

// ImagePushTags returns the local tags of repository name ("host/repo"),
// the tags a push of all tags sends.
func (e *Engine) ImagePushTags(ctx context.Context, name string) ([]string, error) {
	list, err := e.images.List(ctx, ImageListOptions{Reference: []string{name}})
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", name, err)
	}
	// An image in the list may have tags of other repositories too.
	var tags []string
	for _, img := range list {
		for _, t := range img.RepoTags {
			if named, err := reference.ParseNormalizedNamed(t); err == nil && reference.FamiliarName(named) == name {
				tags = append(tags, t)
			}
		}
	}
	slices.Sort(tags)
	return tags, nil
}
