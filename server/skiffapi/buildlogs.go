package skiffapi

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/containerd/errdefs"
	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/server/dockerapi"
)

const (
	// writeWait bounds one websocket write, so a client that stopped
	// reading cannot hold a build's follower forever.
	writeWait = 10 * time.Second
	// closeWait is how long the closing handshake may take before the
	// connection is dropped.
	closeWait = 5 * time.Second
)

var upgrader = websocket.Upgrader{CheckOrigin: sameOrigin}

// GET /skiff/builds/{id}/logs: the build's messages so far, then the live
// ones until it ends. As a websocket (the dashboard), each text frame is one
// message in /build's JSON; the connection closes normally after the last.
// As a plain GET (skiff builds logs), the same messages arrive as /build's
// JSON stream.
func (r *buildRoutes) logs(c echo.Context) error {
	req := c.Request()
	upgrade := websocket.IsWebSocketUpgrade(req)
	if upgrade && !sameOrigin(req) {
		return errdefs.ErrPermissionDenied.WithMessage("websocket from a foreign origin refused: " + req.Header.Get("Origin"))
	}
	rec, err := r.b.BuildInspect(req.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	if !upgrade {
		return dockerapi.StreamBuild(c, r.b, rec.ID, false)
	}
	conn, err := upgrader.Upgrade(c.Response(), req, nil)
	if err != nil {
		return nil // the upgrader has answered the client
	}
	defer conn.Close()
	r.sendLogs(conn, req.Context(), rec.ID)
	return nil
}

// sendLogs follows build id into conn and closes the websocket.
func (r *buildRoutes) sendLogs(conn *websocket.Conn, reqCtx context.Context, id string) {
	// The follower stops when the client closes or goes away, or when the
	// daemon stops serving.
	ctx, cancel, awaitClose := followPeer(reqCtx, r.base(), conn)
	defer cancel()

	err := r.b.BuildFollow(ctx, id, func(m engine.BuildMessage) error {
		if err := conn.SetWriteDeadline(time.Now().Add(writeWait)); err != nil {
			return err
		}
		return conn.WriteJSON(dockerapi.NewBuildStreamMessage(m))
	})
	var closing []byte
	switch {
	case err == nil:
		closing = websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	case r.base().Err() != nil:
		closing = websocket.FormatCloseMessage(websocket.CloseGoingAway, "the daemon is stopping")
	case ctx.Err() != nil:
		return // the client left
	default:
		closing = websocket.FormatCloseMessage(websocket.CloseInternalServerErr, closeReason(err))
	}
	if conn.WriteControl(websocket.CloseMessage, closing, time.Now().Add(writeWait)) != nil {
		return
	}
	awaitClose()
}

// closeReason fits an error into a close frame, whose reason may hold 123
// bytes.
func closeReason(err error) string {
	const limit = 123
	reason := err.Error()
	if len(reason) <= limit {
		return reason
	}
	reason = reason[:limit-len("...")]
	for !utf8.ValidString(reason) { // cut inside a character
		reason = reason[:len(reason)-1]
	}
	return reason + "..."
}
