package monitor

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// trimMemory gives back what starting up cost and an idle monitor does not
// need. The monitor is the whole skiff binary: before main, the package
// initialisers of everything it links (the API server, SQLite, ...) run,
// touching megabytes of code and read-only data and leaving garbage on
// the heap. Afterwards the monitor runs a few goroutines.
//
//   - The heap's garbage is collected and returned to the kernel.
//   - The pages of read-only file mappings are dropped from the monitor's
//     page tables (MADV_DONTNEED). Only mappings with no private
//     (copy-on-write) page are trimmed, so that nothing is lost: each page
//     is a clean page of the page cache, still there (the daemon maps the
//     same binary) and faulted back in on the next access. RSS then counts
//     what the monitor uses rather than what its start touched.
func trimMemory() {
	debug.FreeOSMemory()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return
	}
	defer f.Close()
	type mapping struct {
		start, end uintptr
		trim       bool
	}
	var cur mapping
	flush := func() {
		if cur.trim {
			unix.Syscall(unix.SYS_MADVISE, cur.start, cur.end-cur.start, unix.MADV_DONTNEED)
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
}

// mappingHeader tells whether fields is a mapping's first line in smaps
// ("start-end perms offset dev inode [path]"), returning its address range.
func mappingHeader(fields []string) (string, bool) {
	if len(fields) < 5 || strings.HasSuffix(fields[0], ":") || !strings.Contains(fields[0], "-") || len(fields[1]) != 4 {
		return "", false
	}
	return fields[0], true
}
