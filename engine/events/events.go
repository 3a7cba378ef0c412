// Package events is the engine's in-process event bus: what happened to
// containers, images, volumes (and later networks), for /events and the
// dashboard. Publishing never blocks: each subscriber has a bounded queue,
// and a subscriber that falls behind is cut off (its channel closed, Err set)
// rather than fed a stream with silent gaps.
package events

import (
	"errors"
	"sync"
	"time"
)

// Event is one thing that happened, in Docker's vocabulary.
type Event struct {
	Type       string // "container", "image", "volume", "network"
	Action     string // "create", "start", "die", "destroy", "tag", …
	ID         string
	Attributes map[string]string
	Time       time.Time
}

// ErrTooSlow ends a subscription whose reader fell behind.
var ErrTooSlow = errors.New("event subscriber fell behind and was disconnected")

// historySize is how many past events are kept for "since" queries.
const historySize = 1024

// queueSize bounds each subscriber's backlog; a burst larger than this
// (hundreds of containers created at once) is more than a live reader needs
// buffered.
const queueSize = 256

// Bus fans events out to subscribers.
type Bus struct {
	mu      sync.Mutex
	history []Event
	subs    map[*Subscription]struct{}
	now     func() time.Time
}

// NewBus returns an empty bus.
func NewBus() *Bus {
	return &Bus{subs: map[*Subscription]struct{}{}, now: time.Now}
}

// Subscription is a live feed of events.
type Subscription struct {
	C   <-chan Event
	c   chan Event
	bus *Bus
	err error
}

// Err is why the feed ended (ErrTooSlow), or nil.
func (s *Subscription) Err() error {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	return s.err
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if _, ok := s.bus.subs[s]; ok {
		delete(s.bus.subs, s)
		close(s.c)
	}
}

// Publish records e (its Time set now when zero) and sends it to every
// subscriber.
func (b *Bus) Publish(e Event) {
	if e.Time.IsZero() {
		e.Time = b.now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.history = append(b.history, e)
	if len(b.history) > historySize {
		b.history = b.history[len(b.history)-historySize:]
	}
	for s := range b.subs {
		select {
		case s.c <- e:
		default:
			s.err = ErrTooSlow
			delete(b.subs, s)
			close(s.c)
		}
	}
}

// Subscribe returns the past events at or after since (none when since is
// zero) and a feed of the events published from now on, with no gap or
// overlap between the two.
func (b *Bus) Subscribe(since time.Time) ([]Event, *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var past []Event
	if !since.IsZero() {
		for _, e := range b.history {
			if !e.Time.Before(since) {
				past = append(past, e)
			}
		}
	}
	c := make(chan Event, queueSize)
	s := &Subscription{C: c, c: c, bus: b}
	b.subs[s] = struct{}{}
	return past, s
}
