package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// DefaultIndexURL is Docker Hub's search index, which moby queries too.
const DefaultIndexURL = "https://index.docker.io"

// DefaultSearchLimit is the number of results when the caller gives none.
const DefaultSearchLimit = 25

// catalogPageSize is how many repositories one _catalog request asks for.
const catalogPageSize = 100

// SearchOptions tune a search.
type SearchOptions struct {
	// Limit caps the results, 1 to 100; 0 is DefaultSearchLimit.
	Limit int
	// Stars keeps the results with at least that many stars.
	Stars int
	// Official, when set, keeps the official results (true) or the others.
	Official *bool
	// Automated set to true yields nothing, as with Docker: the index's
	// flag is deprecated and no longer trusted.
	Automated *bool
	// Insecure lists the registries reached over plain HTTP besides the
	// loopback ones, as for a pull.
	Insecure []string
	// IndexURL is Docker Hub's search index; "" is DefaultIndexURL.
	IndexURL string
	// Transport carries the requests; http.DefaultTransport when nil.
	Transport http.RoundTripper
	// Credentials finds the account to use for a host ("docker.io" for
	// Docker Hub), as for a pull; nil, or false, searches anonymously.
	Credentials func(host string) (Credentials, bool)
}

// SearchResult is a repository found, as Docker Hub's index describes it.
type SearchResult struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	StarCount   int    `json:"star_count"`
	IsOfficial  bool   `json:"is_official"`
	IsAutomated bool   `json:"is_automated"`
}

// Search finds repositories matching term. A term naming a registry
// ("host[:port]/part", as a reference names one) lists that registry's
// catalog and keeps the repositories containing part; any other term asks
// Docker Hub's index, as docker search does. The limit applies before the
// star and official filters, as with Docker.
func Search(ctx context.Context, term string, opts SearchOptions) ([]SearchResult, error) {
	limit := opts.Limit
	if limit == 0 {
		limit = DefaultSearchLimit
	}
	if limit < 1 || limit > 100 {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("limit %d is outside the range of [1, 100]", limit))
	}
	if strings.Contains(term, "://") {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid repository name: repository name (%s) should not have a scheme", term))
	}
	if opts.Automated != nil && *opts.Automated {
		return []SearchResult{}, nil
	}
	host, part := splitSearchTerm(term)
	var (
		found []SearchResult
		err   error
	)
	if host == "docker.io" {
		found, err = searchIndex(ctx, strings.TrimPrefix(part, "library/"), limit, opts)
	} else {
		found, err = searchCatalog(ctx, host, part, limit, catalogPageSize, opts)
	}
	if err != nil {
		return nil, err
	}
	results := []SearchResult{}
	for _, r := range found {
		if r.StarCount < opts.Stars || (opts.Official != nil && r.IsOfficial != *opts.Official) {
			continue
		}
		r.IsAutomated = false
		results = append(results, r)
	}
	return results, nil
}

// splitSearchTerm splits a term into the registry it names and the rest,
// by Docker's rule: a first part with a dot or a colon, or "localhost",
// is a registry; otherwise the whole term is for Docker Hub.
func splitSearchTerm(term string) (host, rest string) {
	first, after, found := strings.Cut(term, "/")
	if !found || (!strings.ContainsAny(first, ".:") && first != "localhost") {
		return "docker.io", term
	}
	if first == "index.docker.io" {
		first = "docker.io"
	}
	return first, after
}

// searchIndex asks Docker Hub's search API (GET /v1/search?q=&n=).
func searchIndex(ctx context.Context, term string, limit int, opts SearchOptions) ([]SearchResult, error) {
	base := opts.IndexURL
	if base == "" {
		base = DefaultIndexURL
	}
	u := strings.TrimSuffix(base, "/") + "/v1/search?q=" + url.QueryEscape(term) + "&n=" + strconv.Itoa(limit)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, http.NoBody)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("search index %s: %v", base, err))
	}
	req.Header.Set("X-Docker-Token", "true")
	if c, ok := searchCredentials(opts.Credentials, "docker.io"); ok && c.Username != "" && c.Password != "" {
		req.SetBasicAuth(c.Username, c.Password)
	}
	client := &http.Client{Transport: httpsOnly{next: searchTransport(opts.Transport), insecure: insecureHosts(opts.Insecure)}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, classed{err, errdefs.ErrUnavailable}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("search %s: unexpected status code %d", base, resp.StatusCode)
	}
	var page struct {
		Results []SearchResult `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		return nil, fmt.Errorf("search %s: read the answer: %w", base, err)
	}
	return page.Results, nil
}

// searchCatalog lists the registry's repositories (GET /v2/_catalog,
// following its Link header page by page) and keeps the first limit ones
// that contain term. A registry has no stars, descriptions or official
// images: the results name the repositories, with the host to pull them.
func searchCatalog(ctx context.Context, host, term string, limit, pageSize int, opts SearchOptions) ([]SearchResult, error) {
	allowed := insecureHosts(opts.Insecure)
	reg, err := name.NewRegistry(host, nameOptions(allowed, host)...)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid registry %q: %v", host, err))
	}
	auth := authn.Anonymous
	if c, ok := searchCredentials(opts.Credentials, host); ok {
		auth = authn.FromConfig(authn.AuthConfig{
			Username: c.Username, Password: c.Password,
			IdentityToken: c.IdentityToken, RegistryToken: c.RegistryToken,
		})
	}
	puller, err := remote.NewPuller(
		remote.WithContext(ctx),
		remote.WithAuth(auth),
		remote.WithPageSize(pageSize),
		remote.WithTransport(httpsOnly{next: searchTransport(opts.Transport), insecure: allowed}))
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", host, err)
	}
	pages, err := puller.Catalogger(ctx, reg)
	if err != nil {
		return nil, catalogError(host, err)
	}
	term = strings.ToLower(term)
	results := []SearchResult{}
	for pages.HasNext() {
		page, err := pages.Next(ctx)
		if err != nil {
			return nil, catalogError(host, err)
		}
		for _, repo := range page.Repos {
			if !strings.Contains(repo, term) {
				continue
			}
			results = append(results, SearchResult{Name: host + "/" + repo})
			if len(results) == limit {
				return results, nil
			}
		}
	}
	return results, nil
}

// catalogError says which registry failed, with the error class the API
// answers with: a registry refusing the catalog, or one not reached.
func catalogError(host string, err error) error {
	err = fmt.Errorf("search %s: %w", host, err)
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return classed{err, errdefs.ErrUnavailable}
	}
	switch terr.StatusCode {
	case http.StatusUnauthorized:
		return classed{err, errdefs.ErrUnauthenticated}
	case http.StatusForbidden:
		return classed{err, errdefs.ErrPermissionDenied}
	case http.StatusNotFound:
		return classed{err, errdefs.ErrNotFound}
	}
	return err
}

func searchCredentials(find func(string) (Credentials, bool), host string) (Credentials, bool) {
	if find == nil {
		return Credentials{}, false
	}
	return find(host)
}

func searchTransport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		return http.DefaultTransport
	}
	return rt
}
