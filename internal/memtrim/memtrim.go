// Package memtrim gives back memory that a long-running process of the
// skiff binary touched once and does not need while idle: its heap's
// garbage, and the pages of its read-only file mappings. Each such process
// is the whole binary; its start (the package initialisers of everything
// it links) and each burst of work touch megabytes of code and tables
// that stay mapped, and counted in its RSS, long after.
package memtrim

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// FileMappings drops the pages of read-only file mappings from the
// process's page tables (MADV_DONTNEED). Only mappings with no private
// (copy-on-write) page are trimmed, so that nothing is lost: each page is
// a clean page of the page cache, still there (other processes map the
// same binary) and faulted back in on the next access. RSS then counts
// what the process uses rather than what it once touched.
//
// The mappings are all read first and trimmed at the end, in a loop of
// system calls: the code that reads /proc/self/smaps would otherwise fault
// its own pages back in (and, through the kernel's fault-around, 64 KiB
// around each).
func FileMappings() {
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
		fields := strings.Fields(sc.Text())
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

// All collects the heap's garbage, returns the free heap to the kernel and
// trims the file mappings: what an idle process can give back.
func All() {
	debug.FreeOSMemory()
	FileMappings()
}

// Idle runs a trim once its process has been idle for a while: delay after
// the last Touch, once per idle spell.
type Idle struct {
	delay time.Duration
	mu    sync.Mutex
	timer *time.Timer
}

// NewIdle returns an Idle that calls trim delay after the last Touch. It
// is armed from the start: a process that is never touched is trimmed
// once too.
func NewIdle(delay time.Duration, trim func()) *Idle {
	return &Idle{delay: delay, timer: time.AfterFunc(delay, trim)}
}

// Touch records activity: the trim waits for delay more.
func (i *Idle) Touch() {
	i.mu.Lock()
	i.timer.Reset(i.delay)
	i.mu.Unlock()
}

// Stop cancels a trim still to come.
func (i *Idle) Stop() {
	i.mu.Lock()
	i.timer.Stop()
	i.mu.Unlock()
}
