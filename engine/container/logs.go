package container

import (
	"context"

	"github.com/skiff-dev/skiff/engine/logfile"
)

// LogOptions are docker logs'.
type LogOptions = logfile.ReadConfig

// Logs reads a container's log (json-file, kept across rotations), calling
// fn for each entry; with Follow it goes on until the container stops or ctx
// ends.
func (s *Service) Logs(ctx context.Context, ref string, opts LogOptions, fn func(logfile.Entry) error) (*Container, error) {
	c, err := s.get(ctx, ref)
	if err != nil {
		return nil, err
	}
	live := s.liveOf(c.ID)
	done := func() bool {
		if live == nil {
			return true
		}
		select {
		case <-live.exited:
			return true
		default:
			return false
		}
	}
	return c, logfile.Read(ctx, logPath(s.stateDir(c.ID)), opts, done, fn)
}
