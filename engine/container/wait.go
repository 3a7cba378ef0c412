package container

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
)

// WaitCondition is when Wait returns, as docker's wait conditions.
type WaitCondition string

const (
	WaitNotRunning WaitCondition = "not-running" // now if not running, else at exit
	WaitNextExit   WaitCondition = "next-exit"   // at the next exit, even of a container not started yet
	WaitRemoved    WaitCondition = "removed"     // when the container is removed
)

// waiters are the channels a container's exit and removal close.
type waiters struct {
	exit    chan struct{} // closed and replaced at every exit
	removed chan struct{}
	last    WaitResult // the most recent exit, for waits on removal
}

func (s *Service) waitersOf(id string) *waiters {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.waiters[id]
	if !ok {
		w = &waiters{exit: make(chan struct{}), removed: make(chan struct{})}
		s.waiters[id] = w
	}
	return w
}

func (s *Service) notifyExit(id string, last WaitResult) {
	w := s.waitersOf(id)
	s.mu.Lock()
	w.last = last
	close(w.exit)
	w.exit = make(chan struct{})
	s.mu.Unlock()
}

func (s *Service) notifyRemoved(id string) {
	w := s.waitersOf(id)
	s.mu.Lock()
	close(w.removed)
	delete(s.waiters, id)
	delete(s.locks, id)
	s.mu.Unlock()
}

// WaitResult is what a wait ends with.
type WaitResult struct {
	ExitCode int
	Error    string
}

// Wait blocks until condition holds for the container and returns its exit
// code then. ready is called once the wait is registered: the API flushes
// the response headers there, since the docker CLI starts the container only
// after that.
func (s *Service) Wait(ctx context.Context, ref string, condition WaitCondition, ready func()) (WaitResult, error) {
	c, err := s.get(ctx, ref)
	if err != nil {
		return WaitResult{}, err
	}
	w := s.waitersOf(c.ID)
	s.mu.Lock()
	exit, removed := w.exit, w.removed
	s.mu.Unlock()
	// Read the state after taking the channels, so an exit in between is
	// not missed.
	if c, err = s.get(ctx, c.ID); err != nil {
		return WaitResult{}, err
	}
	var done <-chan struct{}
	switch condition {
	case "", WaitNotRunning:
		if !c.State.Running() {
			ready()
			return WaitResult{ExitCode: c.State.ExitCode, Error: c.State.Error}, nil
		}
		done = exit
	case WaitNextExit:
		done = exit
	case WaitRemoved:
		done = removed
	default:
		return WaitResult{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid condition: %q", condition))
	}
	ready()
	select {
	case <-done:
	case <-ctx.Done():
		return WaitResult{}, ctx.Err()
	}
	if condition == WaitRemoved {
		s.mu.Lock()
		defer s.mu.Unlock()
		return w.last, nil
	}
	c, err = s.get(context.WithoutCancel(ctx), c.ID)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return WaitResult{}, nil
		}
		return WaitResult{}, err
	}
	return WaitResult{ExitCode: c.State.ExitCode, Error: c.State.Error}, nil
}

// removedChan returns the channel closed when the container is removed.
func (w *waiters) removedChan(s *Service) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return w.removed
}
