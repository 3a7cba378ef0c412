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
	"github.com/skiff-dev/skiff/engine/network"
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
	// tlsCert and tlsKey make the TCP listener serve HTTPS.
	tlsCert, tlsKey string
	// maxUpload caps a request body over TCP, e.g. "2g".
	maxUpload string
	// bridge and bridgeSubnet are the default network's device and subnet.
	bridge, bridgeSubnet string
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
	f.StringVar(&cfg.tlsCert, "tls-cert", "", "certificate (PEM) for HTTPS on the TCP listener, with --tls-key")
	f.StringVar(&cfg.tlsKey, "tls-key", "", "private key (PEM) of --tls-cert")
	f.StringVar(&cfg.maxUpload, "max-upload", "2g", "largest request body accepted over TCP: build contexts, image tarballs, imports (e.g. 500m, 2g)")
	f.StringVar(&cfg.bridge, "bridge", network.DefaultBridge, "bridge device of the default network (created if missing)")
	f.StringVar(&cfg.bridgeSubnet, "bridge-subnet", "", "IPv4 subnet of the default network, e.g. 172.17.0.0/16 (default: the first of 172.17-31.0.0/16, 192.168.x.0/20 that no route of the host overlaps)")
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
	contextLimit, err := sizeFlag("build-context-limit", cfg.buildContextLimit)
	if err != nil {
		return err
	}
	maxUpload, err := sizeFlag("max-upload", cfg.maxUpload)
	if err != nil {
		return err
	}
	eng, err := engine.Open(ctx, engine.Config{
		DataRoot:          cfg.dataRoot,
		Migrations:        migrationsFS(),
		SQLDriver:         "sqlite",
		Logger:            log,
		BuildContextLimit: contextLimit,
		Bridge:            cfg.bridge,
		BridgeSubnet:      cfg.bridgeSubnet,
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
		TLSCert:   cfg.tlsCert,
		TLSKey:    cfg.tlsKey,
		MaxUpload: maxUpload,
	})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx) }()
	select {
	case err := <-errc:
		return err
	case <-srv.Ready():
	}
	args := []any{"version", version, "data-root", eng.DataRoot(), "startup", time.Since(start).Round(time.Millisecond)}
	for _, a := range srv.Addrs() {
		args = append(args, a.Network(), a.String())
	}
	log.Info("skiff daemon ready", args...)
	if dashboard := srv.DashboardURL(); dashboard != "" {
		if token != "" {
			log.Info("created the access token for the dashboard and the TCP API; it is shown only this once, keep it",
				"token", token, "dashboard", dashboard)
		}
		log.Info("dashboard: " + dashboard + " — log in with the access token (printed once, at the first start) or the password set with skiff passwd")
	}
	if ready != nil {
		ready <- srv
	}
	err = <-errc
	log.Info("skiff daemon stopped")
	return err
}

// sizeFlag parses the size given to --name, such as 2g; "" is no limit.
func sizeFlag(name, value string) (int64, error) {
	if value == "" {
		return 0, nil
	}
	n, err := units.RAMInBytes(value)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("--%s %q: not a size", name, value)
	}
	return n, nil
}
