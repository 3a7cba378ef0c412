package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/engine/auth"
)

// Credentials is what authentication needs from the engine: the access
// tokens (for the CLI and scripts), the admin password and the dashboard's
// sessions.
type Credentials interface {
	CheckToken(ctx context.Context, token string) (bool, error)
	CheckPassword(ctx context.Context, password string) (bool, error)
	SetPassword(ctx context.Context, password string) error
	CreateSession(ctx context.Context, now time.Time) (auth.Session, error)
	// LookupSession renews the session's idle expiry.
	LookupSession(ctx context.Context, id string, now time.Time) (auth.Session, bool, error)
	DeleteSession(ctx context.Context, id string) error
}

// sessionCookie names the dashboard's session cookie.
const sessionCookie = "skiff_session"

// How a request was authenticated.
type authKind int

const (
	authSocket  authKind = iota // the unix socket: its file mode is the guard
	authNone                    // over TCP without credentials: public routes only
	authBearer                  // over TCP with an access token
	authSession                 // over TCP with a session cookie
)

type authInfo struct {
	kind    authKind
	session auth.Session // for authSession
}

// authInfoKey holds a request's authInfo in its echo.Context.
const authInfoKey = "skiff.auth"

func authOf(c echo.Context) authInfo {
	info, _ := c.Get(authInfoKey).(authInfo)
	return info
}

// authenticate lets a request that came in over TCP through only with a
// valid "Authorization: Bearer <token>" header (never a token in the URL)
// or a valid session cookie, except the few public routes the login page
// needs. It then refuses what another site could make a browser send (see
// checkCrossSite). Unix socket requests are guarded by the socket's file
// mode instead.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if !overTCP(req) {
			c.Set(authInfoKey, authInfo{kind: authSocket})
			return next(c)
		}
		info, err := s.credentialsOf(c)
		if err != nil {
			return err
		}
		public := isPublic(req)
		if info.kind == authNone && !public {
			s.log.Info("refused unauthenticated request", "remote", req.RemoteAddr, "method", req.Method, "path", req.URL.Path)
			return errUnauthenticated(c)
		}
		// A public route (the login) is not authorized by the session, so
		// it needs no CSRF token; it still must come from the daemon's page.
		if err := checkCrossSite(req, info, !public); err != nil {
			s.log.Info("refused cross-site request", "remote", req.RemoteAddr, "method", req.Method, "path", req.URL.Path, "origin", req.Header.Get("Origin"), "err", err)
			return err
		}
		c.Set(authInfoKey, info)
		if info.kind == authSession && websocket.IsWebSocketUpgrade(req) {
			ctx, closed := s.sockets.track(req.Context(), info.session.ID)
			defer closed()
			c.SetRequest(req.WithContext(ctx))
		}
		return next(c)
	}
}

// credentialsOf finds the request's credentials: a wrong token is refused
// at once; an unknown or expired session cookie is cleared and counts as
// none, so the login page still loads.
func (s *Server) credentialsOf(c echo.Context) (authInfo, error) {
	req := c.Request()
	if header := req.Header.Get("Authorization"); header != "" {
		if token, ok := bearerToken(header); ok {
			valid, err := s.creds.CheckToken(req.Context(), token)
			if err != nil {
				return authInfo{}, err
			}
			if valid {
				return authInfo{kind: authBearer}, nil
			}
		}
		s.log.Info("refused a wrong access token", "remote", req.RemoteAddr, "method", req.Method, "path", req.URL.Path)
		return authInfo{}, errUnauthenticated(c)
	}
	cookie, err := req.Cookie(sessionCookie)
	if err != nil {
		return authInfo{kind: authNone}, nil
	}
	sess, ok, err := s.creds.LookupSession(req.Context(), cookie.Value, s.now())
	if err != nil {
		return authInfo{}, err
	}
	if !ok {
		clearSessionCookie(c)
		return authInfo{kind: authNone}, nil
	}
	return authInfo{kind: authSession, session: sess}, nil
}

// isPublic tells the routes that answer without credentials: the
// dashboard's page and assets (its login form must load), the login, and
// the session check, which answers 401 by itself.
func isPublic(req *http.Request) bool {
	p := echo.GetPath(req) // the path the router will route

	switch req.Method {
	case http.MethodGet:
		return p == "/" || strings.HasPrefix(p, "/assets/") || p == "/skiff/session"
	case http.MethodPost:
		return p == "/skiff/login"
	}
	return false
}

func errUnauthenticated(c echo.Context) error {
	c.Response().Header().Set("WWW-Authenticate", `Bearer realm="skiff"`)
	return errdefs.ErrUnauthenticated.WithMessage("authentication required: log in to the dashboard, or send the daemon's access token as \"Authorization: Bearer <token>\"")
}

func overTCP(req *http.Request) bool {
	tcp, _ := req.Context().Value(tcpConnKey).(bool)
	return tcp
}

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}
