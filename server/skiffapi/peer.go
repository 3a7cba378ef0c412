package skiffapi

import (
	"context"
	"time"

	"github.com/gorilla/websocket"
)

// followPeer serves a websocket that only sends (build logs, a pull's
// progress): a hijacked request's context no longer ends with its
// connection, so a reader of the client's frames notices it closing or
// going away. The context it returns ends then, when parent ends, or when
// the daemon stops serving (daemon); awaitClose waits, after the server's
// close frame, for the client's half of the closing handshake, or
// closeWait.
func followPeer(parent, daemon context.Context, conn *websocket.Conn) (context.Context, context.CancelFunc, func()) {
	ctx, cancel := context.WithCancel(parent)
	stop := context.AfterFunc(daemon, cancel)
	peerGone := make(chan struct{})
	go func() { // ends when the connection does
		defer close(peerGone)
		defer cancel()
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	release := func() {
		stop()
		cancel()
	}
	awaitClose := func() {
		select {
		case <-peerGone:
		case <-time.After(closeWait):
		}
	}
	return ctx, release, awaitClose
}
