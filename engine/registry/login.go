package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// LoginOptions tune a login.
type LoginOptions struct {
	// Insecure lists the registries reached over plain HTTP besides the
	// loopback ones, as Options.Insecure.
	Insecure []string
	// Transport carries the requests; http.DefaultTransport when nil.
	Transport http.RoundTripper
}

// Login checks creds against the registry server names ("host[:port]",
// a URL, or "" for Docker Hub) as docker login does: the registry's
// challenge to GET /v2/, the token service's answer for a Bearer one, then
// GET /v2/ with the account. A refused account is an
// errdefs.ErrUnauthenticated error with Docker's message.
func Login(ctx context.Context, server string, creds Credentials, opts LoginOptions) error {
	host := NormalizeHost(server)
	allowed := insecureHosts(opts.Insecure)
	reg, err := name.NewRegistry(host, nameOptions(allowed, host)...)
	if err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid registry %q: %v", server, err))
	}
	auth, _ := keychain{func(string) (Credentials, bool) { return creds, true }}.Resolve(reg)
	t, err := transport.NewWithContext(ctx, reg, auth, baseTransport(opts.Transport, allowed, reg.RegistryStr()), nil)
	if err != nil {
		return unauthenticated(fmt.Errorf("login to %s: %w", host, err))
	}
	endpoint := reg.Scheme() + "://" + reg.RegistryStr() + "/v2/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return unauthenticated(fmt.Errorf("login to %s: %w", host, err))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("login attempt to %s failed with status: %d %s", endpoint, resp.StatusCode, http.StatusText(resp.StatusCode))
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return errdefs.ErrUnauthenticated.WithMessage(err.Error())
		}
		return err
	}
	return nil
}

// unauthenticated gives a refusal by the registry or its token service
// the unauthenticated class, so the API answers 401 as Docker does.
func unauthenticated(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden) {
		return errdefs.ErrUnauthenticated.WithMessage(err.Error())
	}
	return err
}
