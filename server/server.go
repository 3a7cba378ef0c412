// Package server is skiff's HTTP front: one Echo instance that serves the
// Docker Engine API (server/dockerapi), skiff's own endpoints under /skiff/
// (server/skiffapi) and the embedded dashboard, on two listeners:
//
//   - a unix socket, unauthenticated, guarded by its file mode as
//     docker.sock is;
//   - a TCP address, plain HTTP or HTTPS (Config.TLSCert), on which every
//     request must carry a valid token in an Authorization header (never in
//     the URL) or the session cookie of a dashboard login (authn.go, with
//     CSRF and websocket Origin checks in csrf.go).
//
// Errors from handlers are mapped to HTTP statuses in one place
// (errorHandler), from their containerd/errdefs class.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/server/dockerapi"
	"github.com/skiff-dev/skiff/server/skiffapi"
)

// Backend is everything the server needs from the engine.
type Backend interface {
	dockerapi.Backend
	skiffapi.Backend
	EngineBuilds
	Credentials
}

// Config configures the listeners.
type Config struct {
	// Socket is the unix socket path; "" disables it.
	Socket string
	// Listen is the TCP address (host:port); "" disables it.
	Listen string
	// Version is skiff's version, reported by /version and the Server header.
	Version string
	Logger  *slog.Logger
	// Dashboard holds the built web UI (web/dist).
	Dashboard fs.FS
	// TLSCert and TLSKey are PEM files: when set, the TCP listener serves
	// HTTPS (the unix socket stays plain).
	TLSCert, TLSKey string
	// MaxUpload caps request bodies over TCP, in bytes; 0 is no cap.
	MaxUpload int64
	// Now is the clock of sessions and login limits; nil is time.Now.
	Now func() time.Time
	// OnRequest, when set, is called as each request arrives (the daemon
	// trims its memory once requests have stopped for a while).
	OnRequest func()
}

// Server serves the API on its listeners until its context ends.
type Server struct {
	cfg     Config
	echo    *echo.Echo
	log     *slog.Logger
	creds   Credentials
	logins  *loginLimiter
	sockets *sessionSockets

	mu        sync.Mutex
	listeners []net.Listener
	ready     chan struct{}
	base      context.Context // Serve's context, once serving
}

// New builds the server.
func New(backend Backend, cfg Config) *Server {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log, creds: backend, logins: newLoginLimiter(), sockets: newSessionSockets(), ready: make(chan struct{}), base: context.Background()}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	// Authentication comes first: an unauthenticated client learns nothing,
	// not even which API versions exist.
	e.Pre(s.recoverPanics, s.noteRequest, responseHeaders(cfg.Version), securityHeaders, s.authenticate, apiVersion, limitUploads(cfg.MaxUpload))
	builds := buildsByID{backend}
	dockerapi.Register(e, backend, builds, dockerapi.Options{Version: cfg.Version})
	skiffapi.Register(e, backend, builds, skiffapi.Options{BaseContext: s.baseContext})
	s.registerLogin(e)
	serveDashboard(e, cfg.Dashboard)
	s.echo = e
	return s
}

// noteRequest tells Config.OnRequest of each request.
func (s *Server) noteRequest(next echo.HandlerFunc) echo.HandlerFunc {
	if s.cfg.OnRequest == nil {
		return next
	}
	return func(c echo.Context) error {
		s.cfg.OnRequest()
		return next(c)
	}
}

// Handler is the HTTP handler, for tests that serve it themselves.
func (s *Server) Handler() http.Handler { return s.echo }

// Ready is closed once every listener accepts connections.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addrs returns the listeners' addresses once Ready.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var addrs []net.Addr
	for _, l := range s.listeners {
		addrs = append(addrs, l.Addr())
	}
	return addrs
}

// Serve listens and serves until ctx is done, then shuts down gracefully:
// new connections are refused, requests in flight get a few seconds to end.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.listen(ctx); err != nil {
		return err
	}
	close(s.ready)

	servers := make([]*http.Server, len(s.listeners))
	errc := make(chan error, len(s.listeners))
	for i, l := range s.listeners {
		_, isTCP := l.Addr().(*net.TCPAddr)
		servers[i] = s.httpServer(isTCP)
		go func() { errc <- servers[i].Serve(l) }()
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			srv.Close() // long streams (events, logs) do not end by themselves
		}
	}
	if s.cfg.Socket != "" {
		os.Remove(s.cfg.Socket)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// listen opens the configured listeners; ctx becomes the base context.
func (s *Server) listen(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = ctx
	if s.cfg.Socket != "" {
		l, err := listenUnix(s.cfg.Socket)
		if err != nil {
			return err
		}
		s.listeners = append(s.listeners, l)
	}
	if s.cfg.Listen != "" {
		l, err := s.listenTCP()
		if err != nil {
			for _, l := range s.listeners {
				l.Close()
			}
			return err
		}
		s.listeners = append(s.listeners, l)
	}
	return nil
}

// listenTCP opens the TCP listener, with TLS when configured.
func (s *Server) listenTCP() (net.Listener, error) {
	var config *tls.Config
	if s.cfg.TLSCert != "" || s.cfg.TLSKey != "" {
		var err error
		if config, err = tlsConfig(s.cfg.TLSCert, s.cfg.TLSKey); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	if config != nil {
		l = tls.NewListener(l, config)
	}
	return l, nil
}

// DashboardURL is the dashboard's address on the TCP listener, once Ready;
// "" without one.
func (s *Server) DashboardURL() string {
	scheme := "http"
	if s.cfg.TLSCert != "" {
		scheme = "https"
	}
	for _, a := range s.Addrs() {
		if a.Network() == "tcp" {
			return scheme + "://" + a.String() + "/"
		}
	}
	return ""
}

// baseContext is the context of work detached from its request, such as a
// build started by an upload: it ends when Serve's does.
func (s *Server) baseContext() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

type ctxKey int

const tcpConnKey ctxKey = iota

func (s *Server) httpServer(tcp bool) *http.Server {
	return &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 30 * time.Second,
		// No read or write timeout: pulls, builds, logs and events stream
		// for as long as they take.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, tcpConnKey, tcp)
		},
	}
}

// listenUnix listens on a unix socket with mode 0660, replacing a stale
// socket file left by a daemon that died, but never one that answers.
func listenUnix(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("socket %s is in use by another process", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("set mode of %s: %w", path, err)
	}
	return l, nil
}
