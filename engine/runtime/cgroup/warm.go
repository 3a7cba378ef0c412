package cgroup

import (
	"bufio"
	"cmp"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Moving a process into a cgroup (Add) takes the kernel's global
// cgroup_threadgroup_rwsem for writing. That percpu rw-semaphore waits for
// an RCU grace period the first time a writer takes it after it has been
// idle for a grace period or so: 5 to 13 ms on the development VM, for
// a write that otherwise costs tens of microseconds. Later writers within
// that window do not wait.
//
// WarmMigrations opens that window early, while the caller does something
// else, so that the Add of a new container's init does not wait: it makes
// the calling process "migrate" into the cgroup it already is in (a no-op
// the kernel still takes the semaphore for) now, and again every
// millisecond, until stop is called or maxWarm has passed. The cost is a
// system call per millisecond, and forks elsewhere on the host take the
// semaphore's slow (atomic) path meanwhile. The first write holds the
// kernel's cgroup_mutex while it waits, so that cgroup creations on the host
// wait with it. Concurrent callers share one warm-up, which lasts until the
// last one stops.
//
// It is best effort: a host where the no-op write fails (a cgroup with
// controllers enabled below it on v2 refuses processes) gets its grace
// period started anyway, since the semaphore is taken before the write is
// checked, and one it cannot open the file on simply gets no warm-up.
func WarmMigrations() (stop func()) {
	warmer.mu.Lock()
	defer warmer.mu.Unlock()
	warmer.users++
	if !warmer.running {
		f := ownProcsFile()
		if f == nil {
			warmer.users--
			return func() {}
		}
		warmer.running = true
		go warm(f) // ends when the last user stops, or after maxWarm
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			warmer.mu.Lock()
			warmer.users--
			warmer.mu.Unlock()
		})
	}
}

const (
	// warmInterval is well below a grace period, so that the semaphore
	// never goes idle between two writes.
	warmInterval = time.Millisecond
	// maxWarm bounds a warm-up whose stop is never called.
	maxWarm = 2 * time.Second
)

// warmer is the process's one warm-up.
var warmer struct {
	mu      sync.Mutex
	users   int  // WarmMigrations calls not stopped yet
	running bool // warm runs
}

// warm writes the process's pid to f, its own cgroup's cgroup.procs, every
// warmInterval while WarmMigrations has users, and at most maxWarm.
func warm(f *os.File) {
	defer f.Close()
	pid := []byte(strconv.Itoa(os.Getpid()))
	deadline := time.Now().Add(maxWarm)
	for {
		f.Write(pid) // the first one waits for the grace period
		time.Sleep(warmInterval)
		warmer.mu.Lock()
		if warmer.users == 0 || time.Now().After(deadline) {
			warmer.running = false
			warmer.mu.Unlock()
			return
		}
		warmer.mu.Unlock()
	}
}

// ownProcsFile opens, for writing, the cgroup.procs file of the calling
// process's own cgroup in one hierarchy: a v1 hierarchy with a controller
// if there is one, else the v2 hierarchy. It returns nil if there is none
// or it cannot be opened.
func ownProcsFile() *os.File {
	l, err := system()
	if err != nil {
		return nil
	}
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	defer f.Close()
	var v1Path, v2Path string
	sc := bufio.NewScanner(f)
	for sc.Scan() && v1Path == "" {
		// hierarchy-ID:controller-list:path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" && l.unified != "" {
			v2Path = l.unified + parts[2]
			continue
		}
		for c := range strings.SplitSeq(parts[1], ",") {
			if mnt, ok := l.v1[c]; ok {
				v1Path = mnt + parts[2]
				break
			}
		}
	}
	path := cmp.Or(v1Path, v2Path)
	if path == "" {
		return nil
	}
	procs, err := os.OpenFile(strings.TrimSuffix(path, "/")+"/cgroup.procs", os.O_WRONLY, 0)
	if err != nil {
		return nil
	}
	return procs
}
