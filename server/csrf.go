package server

import (
	"crypto/subtle"
	"net/http"

	"github.com/containerd/errdefs"
	"github.com/gorilla/websocket"

	"github.com/skiff-dev/skiff/server/skiffapi"
)

// csrfHeader carries the session's CSRF token (from GET /skiff/session) on
// state-changing requests.
const csrfHeader = "X-CSRF-Token"

// checkCrossSite refuses, over TCP, what a page of another site could make
// a browser send with the daemon's cookie:
//
//   - a websocket upgrade from another origin. Browsers let any page open a
//     websocket anywhere, cookies included, and CSRF defences skip it (it
//     is a GET): its Origin must be the daemon's own, and must be there at
//     all when the cookie is the credential (browsers always send it);
//   - a state-changing request (not GET, HEAD or OPTIONS) not made by the
//     daemon's own page: Origin, when sent, must be the daemon's own, and
//     Sec-Fetch-Site, when sent, "same-origin"; and when the session
//     authorizes it (needToken), it must carry the session's CSRF token,
//     which another site cannot read.
//
// Requests with a bearer token carry no ambient credential, so only a
// foreign Origin on their upgrades is refused.
func checkCrossSite(req *http.Request, info authInfo, needToken bool) error {
	origin := req.Header.Get("Origin")
	if websocket.IsWebSocketUpgrade(req) {
		switch {
		case origin != "" && !skiffapi.SameOrigin(req):
			return errdefs.ErrPermissionDenied.WithMessage("websocket from a foreign origin refused: " + origin)
		case origin == "" && info.kind == authSession:
			return errdefs.ErrPermissionDenied.WithMessage("websocket without an Origin header refused")
		}
		return nil
	}
	if info.kind == authBearer || safeMethod(req.Method) {
		return nil
	}
	if origin != "" && !skiffapi.SameOrigin(req) {
		return errdefs.ErrPermissionDenied.WithMessage("cross-origin request refused: " + origin)
	}
	if site := req.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return errdefs.ErrPermissionDenied.WithMessage("cross-site request refused (Sec-Fetch-Site: " + site + ")")
	}
	if needToken && info.kind == authSession {
		token := req.Header.Get(csrfHeader)
		if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(info.session.CSRFToken)) != 1 {
			return errdefs.ErrPermissionDenied.WithMessage("missing or wrong " + csrfHeader + " header: send the csrfToken of GET /skiff/session")
		}
	}
	return nil
}

func safeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}
