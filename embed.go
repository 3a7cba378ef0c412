package main

import (
	"embed"
	"io/fs"
)

// The built dashboard and the schema migrations travel inside the binary.
// "all:" keeps files whose names start with "_" or ".", which Vite emits.
var (
	//go:embed all:web/dist
	webDist embed.FS
	//go:embed migrations/*.sql
	migrationFiles embed.FS
)

// dashboardFS is web/dist as the root of a filesystem.
func dashboardFS() fs.FS {
	sub, err := fs.Sub(webDist, "web/dist")
	if err != nil {
		panic(err) // the embed directive above guarantees the directory
	}
	return sub
}

// migrationsFS holds the numbered .sql files at its root.
func migrationsFS() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}
