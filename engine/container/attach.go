package container

import (
	"context"
	"fmt"
	"strconv"

	"github.com/containerd/errdefs"

	"github.com/skiff-dev/skiff/engine/monitor"
)

// AttachOptions choose the streams of an attach.
type AttachOptions struct {
	Stdin, Stdout, Stderr bool
	// Waiting, if not nil, is called when an attach to a container that
	// is not running is in place and waits for the start: from then on, a
	// start connects it. The builder starts a step's container there.
	Waiting func()
}

// pendingAttach is an attach waiting for its container to start.
type pendingAttach struct {
	opts   AttachOptions
	result chan attachResult // buffered: the starter never blocks on it
}

type attachResult struct {
	stream *monitor.Stream
	err    error
}

// Attach connects to a container's stdio. An attach to a container that is
// not running yet (docker run attaches before it starts the container) waits
// for the start, and is connected by the start itself before the container
// can exit, replaying its output from the first byte.
func (s *Service) Attach(ctx context.Context, ref string, opts AttachOptions) (*monitor.Stream, error) {
	c, err := s.get(ctx, ref)
	if err != nil {
		return nil, err
	}
	p := &pendingAttach{opts: opts, result: make(chan attachResult, 1)}
	s.mu.Lock()
	live := s.live[c.ID]
	if live == nil {
		s.pending[c.ID] = append(s.pending[c.ID], p)
	}
	s.mu.Unlock()
	if live != nil {
		stream, err := live.client.Attach(ctx, monitor.AttachOptions{Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr})
		if err != nil {
			return nil, fmt.Errorf("attach to container %s: %w", shortID(c.ID), err)
		}
		s.publish(c, "attach", nil)
		return stream, nil
	}
	// Docker reports the attach when it is asked for, before the start.
	s.publish(c, "attach", nil)
	if opts.Waiting != nil {
		opts.Waiting()
	}
	removed := s.waitersOf(c.ID).removedChan(s)
	select {
	case r := <-p.result:
		return r.stream, r.err
	case <-removed:
		s.dropPending(c.ID, p)
		return nil, noSuchContainer(ref)
	case <-ctx.Done():
		if !s.dropPending(c.ID, p) {
			if r := <-p.result; r.stream != nil {
				r.stream.Close() // the start connected it meanwhile
			}
		}
		return nil, ctx.Err()
	}
}

// dropPending unregisters p; false means a start already took it.
func (s *Service) dropPending(id string, p *pendingAttach) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.pending[id]
	for i, q := range list {
		if q == p {
			s.pending[id] = append(list[:i], list[i+1:]...)
			return true
		}
	}
	return false
}

// failPending ends the attaches waiting for a start that failed.
func (s *Service) failPending(id string, err error) {
	s.mu.Lock()
	list := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	for _, p := range list {
		p.result <- attachResult{err: err}
	}
}

// connectPending attaches the clients waiting for a container's start, right
// after its monitor started it: the client from monitor.Start keeps the
// monitor (and its record of the output) until watch releases it, so these
// attaches succeed even for a process that has already exited.
func (s *Service) connectPending(ctx context.Context, id string, client *monitor.Client) {
	s.mu.Lock()
	list := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	for _, p := range list {
		stream, err := client.Attach(ctx, monitor.AttachOptions{
			Stdin: p.opts.Stdin, Stdout: p.opts.Stdout, Stderr: p.opts.Stderr, Replay: true,
		})
		p.result <- attachResult{stream: stream, err: err}
	}
}

// Resize sets the size of a running container's terminal.
func (s *Service) Resize(ctx context.Context, ref string, rows, cols uint16) error {
	c, err := s.get(ctx, ref)
	if err != nil {
		return err
	}
	live := s.liveOf(c.ID)
	if live == nil {
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("Container %s is not running", shortID(c.ID)))
	}
	if !c.Config.Tty {
		return nil // nothing to resize; docker answers success too
	}
	if err := live.client.Resize(rows, cols); err != nil {
		return err
	}
	s.publish(c, "resize", map[string]string{"height": strconv.Itoa(int(rows)), "width": strconv.Itoa(int(cols))})
	return nil
}
