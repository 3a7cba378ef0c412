package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/server"
)

// daemonConfig are the flags of skiff serve.
type daemonConfig struct {
	dataRoot string
	socket   string
	listen   string
	debug    bool
	// buildContextLimit caps an uploaded build context, e.g. "2g".
	buildContextLimit string
}

func newServeCommand() *cobra.Command {
	cfg := daemonConfig{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the skiff daemon: the engine, its API and the dashboard",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runDaemon(ctx, cfg, newLogger(cfg.debug), nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.dataRoot, "data-root", "/var/lib/skiff", "directory holding images, containers and metadata")
	f.StringVar(&cfg.socket, "socket", "/run/skiff.sock", "unix socket of the API (no authentication: its file mode, 0660, is the guard)")
	f.StringVar(&cfg.listen, "listen", "127.0.0.1:7777", "TCP address of the dashboard and the API (token required); empty to disable")
	f.BoolVar(&cfg.debug, "debug", false, "log debug messages")
	f.StringVar(&cfg.buildContextLimit, "build-context-limit", "2g", "largest build context accepted, unpacked (e.g. 500m, 2g)")
	return cmd
}

func newLogger(debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// runDaemon opens the engine, serves until ctx ends and shuts down. ready,
// if not nil, receives the server once it accepts connections.
func runDaemon(ctx context.Context, cfg daemonConfig, log *slog.Logger, ready chan<- *server.Server) error {
	start := time.Now()
	var contextLimit int64
	if cfg.buildContextLimit != "" {
		var err error
		if contextLimit, err = units.RAMInBytes(cfg.buildContextLimit); err != nil || contextLimit <= 0 {
			return fmt.Errorf("--build-context-limit %q: not a size", cfg.buildContextLimit)
		}
	}
	eng, err := engine.Open(ctx, engine.Config{
		DataRoot:          cfg.dataRoot,
		Migrations:        migrationsFS(),
		SQLDriver:         "sqlite",
		Logger:            log,
		BuildContextLimit: contextLimit,
	})
	if err != nil {
		return err
	}
	defer eng.Close()

	token, err := eng.Tokens().EnsureInitial(ctx)
	if err != nil {
		return err
	}
	srv := server.New(eng, server.Config{
		Socket:    cfg.socket,
		Listen:    cfg.listen,
		Version:   version,
		Logger:    log,
		Dashboard: dashboardFS(),
	})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx) }()
	select {
	case err := <-errc:
		return err
	case <-srv.Ready():
	}
	args := []any{"version", version, "data-root", eng.DataRoot(), "startup", time.Since(start).Round(time.Millisecond)}
	var dashboard string
	for _, a := range srv.Addrs() {
		args = append(args, a.Network(), a.String())
		if a.Network() == "tcp" {
			dashboard = fmt.Sprintf("http://%s/", a)
		}
	}
	log.Info("skiff daemon ready", args...)
	if token != "" && dashboard != "" {
		log.Info("created the access token for the dashboard and the TCP API; it is shown only this once, keep it",
			"token", token, "dashboard", dashboard)
	}
	if ready != nil {
		ready <- srv
	}
	err = <-errc
	log.Info("skiff daemon stopped")
	return err
}
