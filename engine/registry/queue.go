package registry

import (
	"context"
	"slices"
	"sync"
)

// downloadQueue caps the blobs downloading at once, handing slots out in
// the image's layer order (Docker's), whatever order the layers' goroutines
// ask in: layers given tickets by expect go in ticket order, others (a
// layer read after all, when another pull of it failed) as they come.
type downloadQueue struct {
	mu      sync.Mutex
	limit   int
	active  int
	tickets []int         // layers expected to ask, in order
	changed chan struct{} // closed and replaced when a slot frees or a ticket goes
}

func newDownloadQueue(limit int) *downloadQueue {
	if limit <= 0 {
		limit = defaultConcurrentDownloads
	}
	return &downloadQueue{limit: limit, changed: make(chan struct{})}
}

// defaultConcurrentDownloads is Docker's --max-concurrent-downloads default.
const defaultConcurrentDownloads = 3

// expect gives layer a ticket, after those given before.
func (q *downloadQueue) expect(layer int) {
	q.mu.Lock()
	q.tickets = append(q.tickets, layer)
	q.mu.Unlock()
}

// acquire waits for a download slot for layer, calling queued once if it
// must wait. Every acquire that returns nil needs a release.
func (q *downloadQueue) acquire(ctx context.Context, layer int, queued func()) error {
	q.mu.Lock()
	for {
		turn := len(q.tickets) == 0 || q.tickets[0] == layer || !slices.Contains(q.tickets, layer)
		if q.active < q.limit && turn {
			q.dropLocked(layer)
			q.active++
			q.mu.Unlock()
			return nil
		}
		// Waiting for the layers before it to start is no queueing: say
		// Waiting only when the slots are taken, or will be by those.
		if ahead := slices.Index(q.tickets, layer); queued != nil && q.active+max(ahead, 0) >= q.limit {
			queued()
			queued = nil
		}
		changed := q.changed
		q.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			q.mu.Lock()
			q.dropLocked(layer)
			q.mu.Unlock()
			return context.Cause(ctx)
		}
		q.mu.Lock()
	}
}

func (q *downloadQueue) release() {
	q.mu.Lock()
	q.active--
	q.notifyLocked()
	q.mu.Unlock()
}

func (q *downloadQueue) dropLocked(layer int) {
	if i := slices.Index(q.tickets, layer); i >= 0 {
		q.tickets = slices.Delete(q.tickets, i, i+1)
		q.notifyLocked()
	}
}

func (q *downloadQueue) notifyLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}
