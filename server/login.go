package server

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/containerd/errdefs"
	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/server/dockerapi"
	"github.com/skiff-dev/skiff/server/wire"
)

// maxCredentialsBody bounds the JSON of a login or password change.
const maxCredentialsBody = 16 << 10

// registerLogin adds the dashboard's login routes.
func (s *Server) registerLogin(e *echo.Echo) {
	e.POST("/skiff/login", s.login)
	e.POST("/skiff/logout", s.logout)
	e.GET("/skiff/session", s.session)
	e.POST("/skiff/passwd", s.passwd)
}

// POST /skiff/login {"token": …} or {"password": …}: 204 with a new
// session cookie, 401 for wrong credentials, 429 with Retry-After once the
// client's address has failed too often.
func (s *Server) login(c echo.Context) error {
	req := c.Request()
	addr, now := clientAddr(req), s.now()
	if wait := s.logins.attempt(addr, now); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return errdefs.ErrResourceExhausted.WithMessage(fmt.Sprintf("too many failed logins: try again in %s", time.Duration(secs)*time.Second))
	}
	q := req.URL.Query()
	if q.Has("token") || q.Has("password") {
		return errdefs.ErrInvalidArgument.WithMessage("credentials are not accepted in the URL: send them in the JSON body")
	}
	var creds wire.Login
	if err := decodeCredentials(req, &creds); err != nil {
		return err
	}
	if (creds.Token == "") == (creds.Password == "") {
		return errdefs.ErrInvalidArgument.WithMessage(`send either {"token": "…"} or {"password": "…"}`)
	}
	ok, with, err := s.checkLogin(req, creds)
	if err != nil {
		return err
	}
	if !ok {
		s.log.Info("failed dashboard login", "remote", addr, "with", with)
		return errdefs.ErrUnauthenticated.WithMessage("wrong token or password")
	}
	s.logins.succeeded(addr)
	// A new session every time: one planted in the browser before the
	// login (session fixation) never becomes a logged-in one.
	if old, err := req.Cookie(sessionCookie); err == nil {
		if err := s.creds.DeleteSession(req.Context(), old.Value); err != nil {
			return err
		}
		s.sockets.end(old.Value)
	}
	sess, err := s.creds.CreateSession(req.Context(), now)
	if err != nil {
		return err
	}
	c.SetCookie(newSessionCookie(req, sess.ID))
	s.log.Info("dashboard login", "remote", addr, "with", with)
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) checkLogin(req *http.Request, creds wire.Login) (ok bool, with string, err error) {
	if creds.Token != "" {
		ok, err = s.creds.CheckToken(req.Context(), creds.Token)
		return ok, "token", err
	}
	ok, err = s.creds.CheckPassword(req.Context(), creds.Password)
	return ok, "password", err
}

// POST /skiff/logout: 204; the session is deleted server-side, so its
// cookie is worthless even if a copy survives.
func (s *Server) logout(c echo.Context) error {
	info := authOf(c)
	if info.kind == authSession {
		if err := s.creds.DeleteSession(c.Request().Context(), info.session.ID); err != nil {
			return err
		}
		s.sockets.end(info.session.ID)
	}
	clearSessionCookie(c)
	return c.NoContent(http.StatusNoContent)
}

// GET /skiff/session: 200 {"csrfToken": …, "expiresAt": …} for a live
// session, else 401. The dashboard asks at load whether it is logged in.
func (s *Server) session(c echo.Context) error {
	info := authOf(c)
	if info.kind != authSession {
		return errdefs.ErrUnauthenticated.WithMessage("not logged in")
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return dockerapi.WriteJSON(c, http.StatusOK, wire.Session{CSRFToken: info.session.CSRFToken, ExpiresAt: info.session.ExpiresAt.UTC()})
}

// POST /skiff/passwd {"password": …}: sets the admin password and ends
// every session; 204. Only the unix socket serves it: whoever holds a
// stolen session or token must not be able to lock the admin out.
func (s *Server) passwd(c echo.Context) error {
	req := c.Request()
	if overTCP(req) {
		return errdefs.ErrPermissionDenied.WithMessage("the password can only be changed over the daemon's unix socket: run skiff passwd on the daemon's host")
	}
	var body wire.Passwd
	if err := decodeCredentials(req, &body); err != nil {
		return err
	}
	if err := s.creds.SetPassword(req.Context(), body.Password); err != nil {
		return err
	}
	s.sockets.endAll()
	s.log.Info("the admin password was changed; every dashboard session has ended")
	return c.NoContent(http.StatusNoContent)
}

// decodeCredentials reads a small JSON body. Requiring the JSON content
// type also keeps plain HTML forms of other sites out: they cannot send it.
func decodeCredentials(req *http.Request, out any) error {
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt != "application/json" {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "send the credentials as application/json")
	}
	if err := json.NewDecoder(io.LimitReader(req.Body, maxCredentialsBody)).Decode(out); err != nil {
		return errdefs.ErrInvalidArgument.WithMessage("malformed JSON body: " + err.Error())
	}
	return nil
}

// newSessionCookie carries a session: unreadable by scripts, sent only by
// the daemon's own pages, only over TLS when the listener serves TLS. It
// has no Max-Age: the server ends the session (auth.SessionIdle), and the
// browser forgets the cookie when it closes.
func newSessionCookie(req *http.Request, id string) *http.Cookie {
	return &http.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   req.TLS != nil,
	}
}

func clearSessionCookie(c echo.Context) {
	cookie := newSessionCookie(c.Request(), "")
	cookie.MaxAge = -1
	c.SetCookie(cookie)
}
