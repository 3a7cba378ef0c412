package container

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	containertypes "github.com/moby/moby/api/types/container"
)

// ListOptions select containers as docker ps does.
type ListOptions struct {
	All     bool // include stopped ones
	Limit   int  // the newest N (docker ps -n); 0 = no limit
	Filters map[string][]string
}

var listFilters = []string{"id", "name", "status", "ancestor", "exited", "label", "before", "since"}

// List returns containers, newest first.
func (s *Service) List(ctx context.Context, opts ListOptions) ([]*Container, error) {
	for key := range opts.Filters {
		if !slices.Contains(listFilters, key) {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter '%s'", key))
		}
	}
	rows, err := s.db.Read().QueryContext(ctx, selectContainer+` ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	defer rows.Close()
	var all []*Container
	for rows.Next() {
		c, err := scanContainer(rows)
		if err != nil {
			return nil, err
		}
		all = append(all, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	match, err := s.matcher(ctx, opts, all)
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, c := range all {
		if match(c) {
			out = append(out, c)
			if opts.Limit > 0 && len(out) == opts.Limit {
				break
			}
		}
	}
	return out, nil
}

// matcher builds the predicate of the filters. Without All only running
// containers match, unless a status or exited filter asks otherwise, or a
// limit is given (docker ps -n includes stopped ones).
func (s *Service) matcher(ctx context.Context, opts ListOptions, all []*Container) (func(*Container) bool, error) {
	f := opts.Filters
	showAll := opts.All || opts.Limit > 0 || len(f["status"]) > 0 || len(f["exited"]) > 0
	var ancestors []string
	for _, a := range f["ancestor"] {
		id, err := s.images.Resolve(ctx, a)
		if err != nil {
			continue // an unknown image matches nothing
		}
		ancestors = append(ancestors, id.String())
	}
	created := func(ref string) (time.Time, error) {
		for _, c := range all {
			if c.ID == ref || c.Name == trimSlash(ref) || strings.HasPrefix(c.ID, ref) {
				return c.Created, nil
			}
		}
		return time.Time{}, noSuchContainer(ref)
	}
	var before, since time.Time
	var err error
	if v := f["before"]; len(v) > 0 {
		if before, err = created(v[0]); err != nil {
			return nil, err
		}
	}
	if v := f["since"]; len(v) > 0 {
		if since, err = created(v[0]); err != nil {
			return nil, err
		}
	}
	return func(c *Container) bool {
		switch {
		case !showAll && !c.State.Running():
			return false
		case len(f["id"]) > 0 && !slices.ContainsFunc(f["id"], func(p string) bool { return strings.HasPrefix(c.ID, p) }):
			return false
		case len(f["name"]) > 0 && !slices.ContainsFunc(f["name"], func(p string) bool { return strings.Contains(c.Name, trimSlash(p)) }):
			return false
		case len(f["status"]) > 0 && !slices.Contains(f["status"], string(c.State.Status)):
			return false
		case len(f["exited"]) > 0 && (c.State.Status != containertypes.StateExited || !slices.Contains(f["exited"], strconv.Itoa(c.State.ExitCode))):
			return false
		case len(f["ancestor"]) > 0 && !slices.Contains(ancestors, c.ImageID.String()):
			return false
		case !hasLabels(c.Config.Labels, f["label"]):
			return false
		case !before.IsZero() && !c.Created.Before(before):
			return false
		case !since.IsZero() && !c.Created.After(since):
			return false
		}
		return true
	}, nil
}

func hasLabels(labels map[string]string, want []string) bool {
	for _, w := range want {
		k, v, withValue := strings.Cut(w, "=")
		got, ok := labels[k]
		if !ok || (withValue && got != v) {
			return false
		}
	}
	return true
}

// Inspect returns one container, with its mounts.
func (s *Service) Inspect(ctx context.Context, ref string) (*Container, error) {
	c, err := s.get(ctx, ref)
	if err != nil {
		return nil, err
	}
	if c.Mounts, err = s.mountPoints(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Status is the human STATUS column of docker ps.
func (c *Container) Status(now time.Time) string {
	st := c.State
	switch st.Status {
	case containertypes.StateRunning:
		return "Up " + humanDuration(now.Sub(st.StartedAt))
	case containertypes.StatePaused:
		return "Up " + humanDuration(now.Sub(st.StartedAt)) + " (Paused)"
	case containertypes.StateRestarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, humanDuration(now.Sub(st.FinishedAt)))
	case containertypes.StateExited:
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, humanDuration(now.Sub(st.FinishedAt)))
	case containertypes.StateCreated:
		return "Created"
	}
	return string(st.Status)
}

// humanDuration is docker's units.HumanDuration.
func humanDuration(d time.Duration) string {
	switch seconds := int(d.Seconds()); {
	case seconds < 1:
		return "Less than a second"
	case seconds == 1:
		return "1 second"
	case seconds < 60:
		return fmt.Sprintf("%d seconds", seconds)
	}
	switch minutes := int(d.Minutes()); {
	case minutes == 1:
		return "About a minute"
	case minutes < 60:
		return fmt.Sprintf("%d minutes", minutes)
	}
	switch hours := int(d.Hours() + 0.5); {
	case hours == 1:
		return "About an hour"
	case hours < 48:
		return fmt.Sprintf("%d hours", hours)
	case hours < 24*7*2:
		return fmt.Sprintf("%d days", hours/24)
	case hours < 24*30*2:
		return fmt.Sprintf("%d weeks", hours/24/7)
	case hours < 24*365*2:
		return fmt.Sprintf("%d months", hours/24/30)
	default:
		return fmt.Sprintf("%d years", int(d.Hours())/24/365)
	}
}
