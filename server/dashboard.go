package server

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// serveDashboard serves the built web UI: index.html at / (never cached, so
// a new daemon's UI shows at once) and the hashed files under /assets/
// (cached for good).
func serveDashboard(e *echo.Echo, dist fs.FS) {
	if dist == nil {
		return
	}
	files := http.FileServerFS(dist)
	e.GET("/", func(c echo.Context) error {
		page, err := fs.ReadFile(dist, "index.html")
		if err != nil {
			return echo.ErrNotFound
		}
		c.Response().Header().Set("Cache-Control", "no-cache")
		return c.HTMLBlob(http.StatusOK, page)
	})
	e.GET("/assets/*", func(c echo.Context) error {
		name := path.Clean(strings.TrimPrefix(c.Request().URL.Path, "/"))
		if _, err := fs.Stat(dist, name); err != nil {
			return echo.ErrNotFound
		}
		c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		files.ServeHTTP(c.Response(), c.Request())
		return nil
	})
}
