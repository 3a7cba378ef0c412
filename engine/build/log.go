package build

import (
	"context"
	"strings"
	"sync"
)

// messageLog is a running build's output: every message so far, kept so a
// follower that joins late reads it from the first, and a signal for the
// ones waiting for more.
type messageLog struct {
	mu       sync.Mutex
	messages []Message
	ended    bool
	more     chan struct{} // closed and replaced on every append
	// output counts the bytes of the steps' own output kept; past
	// maxOutput the rest is dropped, so a step that prints without end
	// cannot fill the daemon's memory or the build's record.
	output int
}

// maxOutput bounds the steps' output a build keeps.
const maxOutput = 16 << 20

func newMessageLog() *messageLog {
	return &messageLog{more: make(chan struct{})}
}

// add appends m; a message after the last one is dropped.
func (l *messageLog) add(m Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return
	}
	l.messages = append(l.messages, m)
	l.ended = m.ImageID != "" || m.Error != ""
	close(l.more)
	l.more = make(chan struct{})
}

// Write makes the log an io.Writer of stream text: a step's output.
func (l *messageLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	room := maxOutput - l.output
	l.output += len(p)
	l.mu.Unlock()
	switch {
	case room < 0:
		// Dropped: the notice was given when the limit was passed.
	case len(p) > room:
		if room > 0 {
			l.add(Message{Stream: string(p[:room])})
		}
		l.println("\n[skiff: the steps' output passed 16 MiB; the rest is neither shown nor kept]")
	default:
		l.add(Message{Stream: string(p)})
	}
	return len(p), nil
}

// println adds a line of the builder's own.
func (l *messageLog) println(line string) {
	l.add(Message{Stream: line + "\n"})
}

// follow calls fn with every message from the first until the last one has
// been delivered or ctx is done.
func (l *messageLog) follow(ctx context.Context, fn func(Message) error) error {
	for next := 0; ; {
		l.mu.Lock()
		batch := l.messages[next:]
		ended, more := l.ended, l.more
		l.mu.Unlock()
		for _, m := range batch {
			if err := fn(m); err != nil {
				return err
			}
		}
		next += len(batch)
		if ended && len(batch) == 0 {
			return nil
		}
		if len(batch) > 0 {
			continue // the batch may have ended the log; look again
		}
		select {
		case <-more:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// text is the stream text of the log so far, as stored with the record.
func (l *messageLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, m := range l.messages {
		b.WriteString(m.Stream)
	}
	return b.String()
}
