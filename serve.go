package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/network"
	"github.com/skiff-dev/skiff/engine/registry"
	"github.com/skiff-dev/skiff/internal/memtrim"
	"github.com/skiff-dev/skiff/server"
	"github.com/skiff-dev/skiff/server/daemonconfig"
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
	// configFile is the daemon.json read onto these flags.
	configFile string
	// The registry settings (see registry.Config).
	insecureRegistries, registryMirrors []string
	maxDownloads, maxUploads            int
	registryIndexURL                    string
}

func newServeCommand() *cobra.Command {
	cfg := daemonConfig{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the skiff daemon: the engine, its API and the dashboard",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := loadConfigFile(cmd.Flags(), cfg.configFile); err != nil {
				return err
			}
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
	f.StringVar(&cfg.configFile, "config", daemonconfig.DefaultPath, "daemon configuration file, a daemon.json like Docker's (the default is read only if it exists)")
	f.StringArrayVar(&cfg.insecureRegistries, "insecure-registry", nil, "registry reached over plain HTTP besides loopback ones: host, host:port or CIDR (repeatable)")
	f.StringArrayVar(&cfg.registryMirrors, "registry-mirror", nil, "mirror of Docker Hub tried before it, an http(s) URL (repeatable)")
	f.IntVar(&cfg.maxDownloads, "max-concurrent-downloads", 3, "layers downloaded at once by a pull")
	f.IntVar(&cfg.maxUploads, "max-concurrent-uploads", 5, "layers uploaded at once by a push")
	// The index is Docker Hub's unless tests or an air-gapped site serve
	// its search API (/v1/search) themselves.
	f.StringVar(&cfg.registryIndexURL, "registry-index-url", registry.DefaultIndexURL, "Docker Hub search index, for tests and air-gapped mirrors of it")
	f.MarkHidden("registry-index-url")
	return cmd
}

// loadConfigFile reads the daemon.json at path onto flags: one given with
// --config must exist, the default one is read only if it does.
func loadConfigFile(flags *pflag.FlagSet, path string) error {
	if !flags.Changed("config") {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	return daemonconfig.Load(path, flags)
}

// registryConfig validates the registry flags into the engine's settings.
func registryConfig(cfg daemonConfig) (registry.Config, error) {
	rc, err := daemonconfig.Registry(cfg.insecureRegistries, cfg.registryMirrors, cfg.maxDownloads, cfg.maxUploads)
	if err != nil {
		return rc, err
	}
	if u, err := url.Parse(cfg.registryIndexURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return rc, fmt.Errorf("--registry-index-url %q: not an http(s) URL", cfg.registryIndexURL)
	}
	rc.IndexURL = cfg.registryIndexURL
	return rc, nil
}

func newLogger(debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// idleTrimDelay is how long the daemon waits after the last request
// before it trims its memory: longer than the gaps within a burst of
// commands, so that a burst does not fault its code back in again and
// again.
const idleTrimDelay = 10 * time.Second

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
	regConfig, err := registryConfig(cfg)
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
		Registry:          regConfig,
	})
	if err != nil {
		return err
	}
	defer eng.Close()

	token, err := eng.Tokens().EnsureInitial(ctx)
	if err != nil {
		return err
	}
	// Once requests stop, the daemon gives back the memory they (and its
	// start) touched: the heap's garbage, and the binary's code and tables
	// (clean pages of the page cache, faulted back in on the next request).
	idle := memtrim.NewIdle(idleTrimDelay, memtrim.All)
	defer idle.Stop()
	srv := server.New(eng, server.Config{
		Socket:    cfg.socket,
		Listen:    cfg.listen,
		Version:   version,
		Logger:    log,
		Dashboard: dashboardFS(),
		TLSCert:   cfg.tlsCert,
		TLSKey:    cfg.tlsKey,
		MaxUpload: maxUpload,
		OnRequest: idle.Touch,
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
