package skiffapi

import (
	"context"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/skiff-dev/skiff/engine"
)

// sessionGrace is how long an exec session outlives its last websocket: a
// dropped connection that comes back within it finds its process, and the
// screen it missed.
const sessionGrace = 60 * time.Second

// execSession is a process run with a pty for the dashboard. It belongs to
// the server, not to a websocket: its output goes into a scrollback that
// the websockets joined to it read.
type execSession struct {
	id          string // what the browser reconnects with: random, unguessable
	containerID string
	execID      string
	stream      *engine.Stream
	out         *scrollback

	// Guarded by execSessions.mu.
	stopOnBase func() bool // unregisters the hang-up at the daemon's stop
	clients    int
	idle       *time.Timer    // running while no websocket is joined
	final      *serverMessage // how the process ended, once it has
	told       bool           // the end reached a browser
	closed     bool           // out of the registry
}

// execSessions are the live exec sessions, by ID.
type execSessions struct {
	grace  time.Duration
	hangUp func(*execSession) // ends the process of a session closed early

	mu sync.Mutex
	m  map[string]*execSession
}

func newExecSessions(grace time.Duration, hangUp func(*execSession)) *execSessions {
	return &execSessions{grace: grace, hangUp: hangUp, m: map[string]*execSession{}}
}

// add registers a session until it is closed, at the latest when base
// (the daemon's serving) ends: nobody could reconnect to it then.
func (s *execSessions) add(sess *execSession, base context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[sess.id] = sess
	sess.stopOnBase = context.AfterFunc(base, func() { s.close(sess) })
}

// join finds session id of the container and counts one more websocket on
// it; nil if there is none.
func (s *execSessions) join(id, containerID string) *execSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.m[id]
	if sess == nil || sess.containerID != containerID {
		return nil
	}
	sess.clients++
	if sess.idle != nil {
		sess.idle.Stop() // if it fired meanwhile, expire sees the client
		sess.idle = nil
	}
	return sess
}

// leave counts one websocket less, which closed with peerCode. The last one
// leaving starts the grace period, except when the end was told (nothing is
// left to see) or the browser closed normally (the user is done): then the
// session closes now.
func (s *execSessions) leave(sess *execSession, peerCode int) {
	s.mu.Lock()
	sess.clients--
	if sess.clients > 0 || sess.closed {
		s.mu.Unlock()
		return
	}
	if (sess.final != nil && sess.told) || peerCode == websocket.CloseNormalClosure {
		s.mu.Unlock()
		s.close(sess)
		return
	}
	sess.idle = time.AfterFunc(s.grace, func() { s.expire(sess) })
	s.mu.Unlock()
}

// expire closes a session left alone for the grace period.
func (s *execSessions) expire(sess *execSession) {
	s.mu.Lock()
	alone := sess.clients == 0
	s.mu.Unlock()
	if alone {
		s.close(sess)
	}
}

// finish records how the session's process ended; the readers of its
// output then reach the end.
func (s *execSessions) finish(sess *execSession, final serverMessage) {
	s.mu.Lock()
	sess.final = &final
	s.mu.Unlock()
	sess.out.end()
}

// finalOf returns how the session's process ended; false if it was closed
// before.
func (s *execSessions) finalOf(sess *execSession) (serverMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess.final == nil {
		return serverMessage{}, false
	}
	return *sess.final, true
}

// told notes that a browser saw the session's end.
func (s *execSessions) told(sess *execSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.told = true
}

// close removes a session and, if its process still runs, hangs it up.
func (s *execSessions) close(sess *execSession) {
	s.mu.Lock()
	if sess.closed {
		s.mu.Unlock()
		return
	}
	sess.closed = true
	delete(s.m, sess.id)
	if sess.idle != nil {
		sess.idle.Stop()
	}
	running := sess.final == nil
	stopOnBase := sess.stopOnBase
	s.mu.Unlock()

	stopOnBase()
	sess.out.end()
	if running {
		s.hangUp(sess)
	}
}

// hangUp ends a closed session's process as a terminal's hangup does, with
// SIGHUP; the session's pump records its exit.
func (r *terminalRoutes) hangUp(sess *execSession) {
	r.b.ExecSignal(context.WithoutCancel(r.base()), sess.execID, syscall.SIGHUP)
}
