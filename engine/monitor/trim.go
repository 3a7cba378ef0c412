package monitor

import (
	"bufio"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// When the monitor trims its memory: trimDelay after the start, once a
// short-lived container's exit has been handled (trimming takes a
// millisecond of the monitor's one P), and retrimDelay after it, once the
// daemon's first requests (attach, info) and the code they ran are over;
// then after garbage collections (trimAfterGC).
const (
	trimDelay   = 50 * time.Millisecond
	retrimDelay = 2 * time.Second
)

// scheduleTrims arranges the trims that follow the start.
func scheduleTrims() {
	time.AfterFunc(trimDelay, trimMemory)
	time.AfterFunc(retrimDelay, trimFileMappings)
}

// trimMemory gives back what starting up cost and an idle monitor does not
// need. The monitor is the whole skiff binary: before main, the package
// initialisers of everything it links (the API server, SQLite, ...) run,
// touching megabytes of code and read-only data and leaving garbage on
// the heap. Afterwards the monitor runs a few goroutines.
//
//   - The heap's garbage is collected and returned to the kernel, and the
//     GC runs early from then on (GOGC 25).
//   - The binary's read-only file mappings are trimmed (trimFileMappings).
//
// It then keeps the mappings trimmed after each later garbage collection
// (trimAfterGC): a collection, such as the one the Go runtime forces every
// two minutes, runs code and reads tables that an idle monitor does not
// touch otherwise, about 1.5 MB of them.
func trimMemory() {
	debug.SetGCPercent(25)
	debug.FreeOSMemory()
	trimFileMappings()
	trimAfterGC()
}

// trimFileMappings drops the pages of read-only file mappings from the
// monitor's page tables (MADV_DONTNEED). Only mappings with no private
// (copy-on-write) page are trimmed, so that nothing is lost: each page is a
// clean page of the page cache, still there (the daemon maps the same
// binary) and faulted back in on the next access. RSS then counts what the
// monitor uses rather than what its start touched.
//
// The mappings are all read first and trimmed at the end, in a loop of
// system calls: the code that reads /proc/self/smaps would otherwise fault
// its own pages back in (and, through the kernel's fault-around, 64 KiB
// around each).
func trimFileMappings() {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return
	}
	type mapping struct {
		start, end uintptr
		trim       bool
	}
	var cur mapping
	trim := make([]mapping, 0, 16)
	flush := func() {
		if cur.trim {
			trim = append(trim, cur)
		}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if addr, ok := mappingHeader(fields); ok {
			flush()
			start, end, _ := strings.Cut(addr, "-")
			s, err1 := strconv.ParseUint(start, 16, 64)
			e, err2 := strconv.ParseUint(end, 16, 64)
			perms, inode := fields[1], fields[4]
			cur = mapping{
				start: uintptr(s), end: uintptr(e),
				// read-only, private, backed by a file; "[vdso]" & co have inode 0
				trim: err1 == nil && err2 == nil && perms[1] == '-' && perms[3] == 'p' && inode != "0",
			}
			continue
		}
		// A private page already copied (relocations done before a RELRO
		// mprotect) would be lost: leave such a mapping alone.
		if fields[0] == "Anonymous:" && fields[1] != "0" {
			cur.trim = false
		}
	}
	flush()
	f.Close()
	for _, m := range trim {
		unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED)
	}
}

// mappingHeader tells whether fields is a mapping's first line in smaps
// ("start-end perms offset dev inode [path]"), returning its address range.
func mappingHeader(fields []string) (string, bool) {
	if len(fields) < 5 || strings.HasSuffix(fields[0], ":") || !strings.Contains(fields[0], "-") || len(fields[1]) != 4 {
		return "", false
	}
	return fields[0], true
}

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
				trimFileMappings()
			}
			arm()
		})
	}
	arm()
}
