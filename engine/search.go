package engine

import (
	"context"

	"github.com/skiff-dev/skiff/engine/registry"
)

// RegistryConfig is the daemon's registry settings, as Open was given them.
func (e *Engine) RegistryConfig() registry.Config {
	return e.registry
}

// ImageSearch finds repositories on Docker Hub or on the registry term
// names, with the daemon's insecure registries and index unless opts
// names its own, and the request's account or else the stored one.
func (e *Engine) ImageSearch(ctx context.Context, term string, opts registry.SearchOptions) ([]registry.SearchResult, error) {
	opts = e.registry.FillSearch(opts)
	opts.Credentials = e.registryCredentials(opts.Credentials)
	return registry.Search(ctx, term, opts)
}
