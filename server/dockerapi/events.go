package dockerapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/events"

	"github.com/skiff-dev/skiff/engine"
)

// eventMessage is moby's event message plus the deprecated status, id and
// from fields that API clients below 1.30 wait on.
type eventMessage struct {
	events.Message
	Status string `json:"status,omitempty"`
	ID     string `json:"id,omitempty"`
	From   string `json:"from,omitempty"`
}

func toMessage(e engine.Event) eventMessage {
	m := eventMessage{Message: events.Message{
		Type:     events.Type(e.Type),
		Action:   events.Action(e.Action),
		Actor:    events.Actor{ID: e.ID, Attributes: e.Attributes},
		Scope:    "local",
		Time:     e.Time.Unix(),
		TimeNano: e.Time.UnixNano(),
	}}
	if e.Type == "container" {
		m.Status, m.ID, m.From = e.Action, e.ID, e.Attributes["image"]
	}
	return m
}

// matches applies docker events' filters: type, event (action), container,
// image, label.
func matches(e engine.Event, f filters) bool {
	if v := f["type"]; len(v) > 0 && !slices.Contains(v, e.Type) {
		return false
	}
	if v := f["event"]; len(v) > 0 && !slices.ContainsFunc(v, func(want string) bool { return eventIs(e.Action, want) }) {
		return false
	}
	if v := f["container"]; len(v) > 0 && (e.Type != "container" || !slices.ContainsFunc(v, func(s string) bool {
		return s == e.ID || s == e.Attributes["name"] || (len(s) >= 3 && len(s) < len(e.ID) && e.ID[:len(s)] == s)
	})) {
		return false
	}
	if v := f["image"]; len(v) > 0 && !slices.Contains(v, e.Attributes["image"]) && !slices.Contains(v, e.ID) {
		return false
	}
	return hasLabels(e.Attributes, f["label"])
}

// eventIs reports whether an event's action matches an event filter, as
// moby's: exactly, except that exec_create, exec_start and health_status
// also match their actions with a suffix ("exec_start: sh -c ls").
func eventIs(action, want string) bool {
	switch want {
	case "exec_create", "exec_start", "health_status":
		return strings.HasPrefix(action, want)
	}
	return action == want
}

func hasLabels(attrs map[string]string, want []string) bool {
	for _, w := range want {
		k, v, withValue := cutEq(w)
		got, ok := attrs[k]
		if !ok || (withValue && got != v) {
			return false
		}
	}
	return true
}

func cutEq(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// GET /events?since=&until=&filters=: past events since, then live ones
// until the client goes or until passes; each flushed as it comes.
func eventsHandler(b EventsBackend) echo.HandlerFunc {
	return func(c echo.Context) error {
		f, err := parseFilters(c.QueryParam("filters"), "type", "event", "container", "image", "label")
		if err != nil {
			return err
		}
		since, err := unixTimeParam(c, "since")
		if err != nil {
			return err
		}
		until, err := unixTimeParam(c, "until")
		if err != nil {
			return err
		}
		past, sub := b.Events(since)
		defer sub.Close()
		resp := c.Response()
		resp.Header().Set(echo.HeaderContentType, "application/json")
		resp.WriteHeader(http.StatusOK)
		resp.Flush()
		enc := json.NewEncoder(resp)
		send := func(e engine.Event) bool {
			if !until.IsZero() && e.Time.After(until) {
				return false
			}
			if matches(e, f) {
				if enc.Encode(toMessage(e)) != nil {
					return false
				}
				resp.Flush()
			}
			return true
		}
		for _, e := range past {
			if !send(e) {
				return nil
			}
		}
		var deadline <-chan time.Time
		if !until.IsZero() {
			t := time.NewTimer(time.Until(until))
			defer t.Stop()
			deadline = t.C
		}
		for {
			select {
			case e, ok := <-sub.C:
				if !ok || !send(e) {
					return nil
				}
			case <-deadline:
				return nil
			case <-c.Request().Context().Done():
				return nil
			}
		}
	}
}
