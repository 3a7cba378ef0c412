package dockerapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/labstack/echo/v4"
	registrytypes "github.com/moby/moby/api/types/registry"

	"github.com/skiff-dev/skiff/engine/registry"
)

// The registry account a client sends: with POST /auth in the body, with
// a pull or push in the X-Registry-Auth header (base64url of the same
// JSON). Neither is ever logged or echoed.

// credentials turns an AuthConfig into skiff's, from the "auth" field
// (base64 "user:password", as config.json keeps it) when the username
// and password are not given apart.
func credentials(ac registrytypes.AuthConfig) registry.Credentials {
	c := registry.Credentials{Username: ac.Username, Password: ac.Password, IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken}
	if c.Username == "" && c.Password == "" && ac.Auth != "" {
		if b, err := base64.StdEncoding.DecodeString(ac.Auth); err == nil {
			c.Username, c.Password, _ = strings.Cut(string(b), ":")
		}
	}
	return c
}

// requestCredentials is the account of the X-Registry-Auth header, for
// its server only: the one it names, else registry, the pull's or push's
// own (not a mirror's). Nil when the header has none: the daemon's stored
// accounts apply.
func requestCredentials(c echo.Context, registryHost string) (func(host string) (registry.Credentials, bool), error) {
	header := c.Request().Header.Get("X-Registry-Auth")
	if header == "" {
		return nil, nil
	}
	// Clients pad base64url or not; decode either way.
	raw, err := base64.URLEncoding.DecodeString(header)
	if err != nil {
		raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(header, "="))
	}
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage("invalid X-Registry-Auth header: not base64url")
	}
	var ac registrytypes.AuthConfig
	if err := json.Unmarshal(raw, &ac); err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage("invalid X-Registry-Auth header: not an AuthConfig JSON object")
	}
	creds := credentials(ac)
	if creds.Empty() {
		return nil, nil
	}
	owner := registryHost
	if ac.ServerAddress != "" {
		owner = ac.ServerAddress
	}
	owner = registry.NormalizeHost(owner)
	return func(host string) (registry.Credentials, bool) {
		if host != owner {
			return registry.Credentials{}, false
		}
		return creds, true
	}, nil
}

// POST /auth checks an account against its registry and stores it for the
// daemon's pulls and pushes, as docker login asks.
func (r *imageRoutes) login(c echo.Context) error {
	var ac registrytypes.AuthConfig
	if err := json.NewDecoder(c.Request().Body).Decode(&ac); err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid login request: %v", err))
	}
	status, token, err := r.b.RegistryLogin(c.Request().Context(), ac.ServerAddress, credentials(ac))
	if err != nil {
		return err
	}
	// Docker answers the token field even when empty.
	return WriteJSON(c, http.StatusOK, struct {
		Status        string `json:"Status"`
		IdentityToken string `json:"IdentityToken"`
	}{status, token})
}
