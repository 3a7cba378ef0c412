package skiffapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/server/dockerapi"
)

// RegistryAuthBackend lists and forgets the daemon's registry accounts.
type RegistryAuthBackend interface {
	RegistryLogins(ctx context.Context) ([]string, error)
	RegistryLogout(ctx context.Context, server string) error
}

// registryLogins is GET /skiff/auth's answer: the registries the daemon
// has an account for, never the accounts.
type registryLogins struct {
	Servers []string `json:"Servers"`
}

func registerRegistryAuth(g *echo.Group, b RegistryAuthBackend) {
	// GET /skiff/auth
	g.GET("/auth", func(c echo.Context) error {
		servers, err := b.RegistryLogins(c.Request().Context())
		if err != nil {
			return err
		}
		if servers == nil {
			servers = []string{}
		}
		return dockerapi.WriteJSON(c, http.StatusOK, registryLogins{Servers: servers})
	})
	// DELETE /skiff/auth?server=HOST logs out (docker.io when empty).
	g.DELETE("/auth", func(c echo.Context) error {
		if err := b.RegistryLogout(c.Request().Context(), c.QueryParam("server")); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
}
