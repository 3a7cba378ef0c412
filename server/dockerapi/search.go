package dockerapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/labstack/echo/v4"
	registrytypes "github.com/moby/moby/api/types/registry"

	"github.com/skiff-dev/skiff/engine/registry"
)

// RegistryBackend searches registries and tells the daemon's registry
// settings.
type RegistryBackend interface {
	RegistryConfig() registry.Config
	ImageSearch(ctx context.Context, term string, opts registry.SearchOptions) ([]registry.SearchResult, error)
}

// search answers GET /images/search?term=&limit=&filters= with moby's
// array of results. The filters are Docker's: stars=N (the highest N
// given wins), is-official and the deprecated is-automated.
func (r *imageRoutes) search(c echo.Context) error {
	opts, err := searchOptions(c.QueryParam("limit"), c.QueryParam("filters"))
	if err != nil {
		return err
	}
	term := c.QueryParam("term")
	if opts.Credentials, err = requestCredentials(c, searchedRegistry(term)); err != nil {
		return err
	}
	found, err := r.b.ImageSearch(c.Request().Context(), term, opts)
	if err != nil {
		return err
	}
	results := make([]registrytypes.SearchResult, 0, len(found))
	for _, f := range found {
		results = append(results, registrytypes.SearchResult{
			Name: f.Name, Description: f.Description, StarCount: f.StarCount, IsOfficial: f.IsOfficial,
		})
	}
	return WriteJSON(c, http.StatusOK, results)
}

// searchOptions parses the limit and filters of a search.
func searchOptions(limit, rawFilters string) (registry.SearchOptions, error) {
	var opts registry.SearchOptions
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil {
			return opts, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid limit specified: %v", err))
		}
		if n < 1 || n > 100 {
			return opts, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("limit %d is outside the range of [1, 100]", n))
		}
		opts.Limit = n
	}
	f, err := parseFilters(rawFilters, "stars", "is-official", "is-automated")
	if err != nil {
		return opts, err
	}
	if opts.Official, err = f.boolean("is-official"); err != nil {
		return opts, err
	}
	if opts.Automated, err = f.boolean("is-automated"); err != nil {
		return opts, err
	}
	for _, v := range f["stars"] {
		n, err := strconv.Atoi(v)
		if err != nil {
			return opts, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter 'stars=%s': %v", v, err))
		}
		opts.Stars = max(opts.Stars, n)
	}
	return opts, nil
}

// searchedRegistry is the registry a search term names ("host:port/part"),
// Docker Hub's otherwise: the one an account sent with it is for.
func searchedRegistry(term string) string {
	if named, err := reference.ParseNormalizedNamed(term); err == nil {
		return reference.Domain(named)
	}
	return "docker.io"
}
