package server

import (
	"context"
	"sync"
)

// sessionSockets tracks the websockets each session opened, so that
// ending the session (logout, a password change) also ends them: a
// terminal must not outlive the login that opened it. A handler sees the
// end as its request's context being cancelled.
type sessionSockets struct {
	mu      sync.Mutex
	next    int
	cancels map[string]map[int]context.CancelFunc // by session ID
}

func newSessionSockets() *sessionSockets {
	return &sessionSockets{cancels: map[string]map[int]context.CancelFunc{}}
}

// track returns a context for a websocket of session id, cancelled when
// the session ends, and the function to call when the socket closes.
func (s *sessionSockets) track(parent context.Context, id string) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	s.mu.Lock()
	defer s.mu.Unlock()
	key := s.next
	s.next++
	if s.cancels[id] == nil {
		s.cancels[id] = map[int]context.CancelFunc{}
	}
	s.cancels[id][key] = cancel
	return ctx, func() {
		cancel()
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.cancels[id], key)
		if len(s.cancels[id]) == 0 {
			delete(s.cancels, id)
		}
	}
}

// end cancels the websockets of session id.
func (s *sessionSockets) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cancel := range s.cancels[id] {
		cancel()
	}
}

// endAll cancels the websockets of every session.
func (s *sessionSockets) endAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, byKey := range s.cancels {
		for _, cancel := range byKey {
			cancel()
		}
	}
}
