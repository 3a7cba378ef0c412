package monitor

import (
	goruntime "runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-dev/skiff/internal/memtrim"
)

// When the monitor trims its memory: trimDelay after the start, once a
// short-lived container's exit has been handled (trimming takes a
// millisecond of CPU), and retrimDelay after it, once the daemon's first
// requests (attach, info) and the code they ran are over; then after
// garbage collections (trimAfterGC).
const (
	trimDelay   = 50 * time.Millisecond
	retrimDelay = 2 * time.Second
)

// scheduleTrims arranges the trims that follow the start, and returns
// the function that cancels those still to come.
func scheduleTrims() (stop func()) {
	timers := []*time.Timer{
		time.AfterFunc(trimDelay, trimMemory),
		time.AfterFunc(retrimDelay, memtrim.FileMappings),
	}
	return func() {
		for _, t := range timers {
			t.Stop()
		}
	}
}

// trimMemory gives back what starting up cost and an idle monitor does not
// need. The monitor is the whole skiff binary: before main, the package
// initialisers of everything it links (the API server, SQLite, ...) run,
// touching megabytes of code and read-only data and leaving garbage on
// the heap. Afterwards the monitor runs a few goroutines.
//
//   - The heap's garbage is collected and returned to the kernel, and the
//     GC runs early from then on (GOGC 25).
//   - The binary's read-only file mappings are trimmed
//     (memtrim.FileMappings).
//
// It then keeps the mappings trimmed after each later garbage collection
// (trimAfterGC): a collection, such as the one the Go runtime forces every
// two minutes, runs code and reads tables that an idle monitor does not
// touch otherwise, about 1.5 MB of them.
func trimMemory() {
	debug.SetGCPercent(25)
	memtrim.All()
	trimsAfterGC()
}

// trimsAfterGC starts trimAfterGC once per process, whose monitor may
// serve one container after another (see runStandby).
var trimsAfterGC = sync.OnceFunc(trimAfterGC)

// retrimInterval is the least time between two trims after a garbage
// collection: a busy monitor collects often, and a trim costs about a
// millisecond of CPU.
const retrimInterval = 10 * time.Second

// trimAfterGC trims the file mappings after every garbage collection, at
// most once per retrimInterval. It learns of a collection from the
// finalizer of an unreachable object, which runs once a cycle has swept
// it, and then sets up the next one.
func trimAfterGC() {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	var arm func()
	arm = func() {
		// A pointer field keeps it out of the tiny allocator, whose blocks
		// may outlive it.
		type sentinel struct{ _ *int }
		goruntime.SetFinalizer(new(sentinel), func(*sentinel) {
			// In the finalizer goroutine: trimming there delays other
			// finalizers (the monitor has none of its own) by a
			// millisecond.
			if now := time.Now().UnixNano(); now-last.Load() >= int64(retrimInterval) {
				last.Store(now)
				memtrim.FileMappings()
			}
			arm()
		})
	}
	arm()
}
