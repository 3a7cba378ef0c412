package events

import (
	"errors"
	"testing"
	"time"
)

func TestSubscribersGetEventsInOrderWithHistory(t *testing.T) {
	b := NewBus()
	start := time.Now()
	b.Publish(Event{Type: "image", Action: "tag", ID: "a"})
	past, sub := b.Subscribe(start)
	defer sub.Close()
	b.Publish(Event{Type: "container", Action: "start", ID: "c"})
	if len(past) != 1 || past[0].ID != "a" {
		t.Fatalf("history = %+v", past)
	}
	if e := <-sub.C; e.Action != "start" || e.Time.IsZero() {
		t.Errorf("live event = %+v", e)
	}
	if past, sub2 := b.Subscribe(time.Time{}); len(past) != 0 {
		t.Errorf("zero since gave history %+v", past)
	} else {
		sub2.Close()
	}
}

func TestSlowSubscriberIsCutOffNotSkipped(t *testing.T) {
	b := NewBus()
	_, slow := b.Subscribe(time.Time{})
	for i := 0; i < queueSize+10; i++ {
		b.Publish(Event{Type: "container", Action: "create"})
	}
	n := 0
	for range slow.C {
		n++
	}
	if n != queueSize || !errors.Is(slow.Err(), ErrTooSlow) {
		t.Errorf("slow subscriber got %d events then %v; want %d then ErrTooSlow", n, slow.Err(), queueSize)
	}
	slow.Close() // closing a cut-off subscription is harmless
	// Publishing goes on for everyone else.
	_, next := b.Subscribe(time.Time{})
	defer next.Close()
	b.Publish(Event{Type: "container", Action: "start"})
	if e := <-next.C; e.Action != "start" {
		t.Errorf("got %+v", e)
	}
}
