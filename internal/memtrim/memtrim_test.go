package memtrim

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// rssFileKiB reads the process's resident file-backed memory.
func rssFileKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kib, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatalf("RssFile line %q: %v", line, err)
			}
			return kib
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// The test binary, like skiff, has touched megabytes of its code and
// tables by now; trimmed, it keeps only what it touches again (and its
// writable mappings, which are never trimmed).
func TestFileMappingsShrinksRSS(t *testing.T) {
	before := rssFileKiB(t)
	FileMappings()
	after := rssFileKiB(t)
	t.Logf("RssFile %d KiB -> %d KiB", before, after)
	if after > before*3/4 {
		t.Errorf("RssFile %d KiB after the trim, from %d KiB: want a quarter less at least", after, before)
	}
	// Nothing was lost: the code still runs and the data is still there.
	if got := strings.Repeat("ab", 2); got != "abab" {
		t.Fatalf("after the trim, strings.Repeat = %q", got)
	}
}

func TestMappingHeader(t *testing.T) {
	tests := []struct {
		line string
		addr string
		ok   bool
	}{
		{"00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/skiff", "00400000-00452000", true},
		{"7ffd1c5e0000-7ffd1c601000 rw-p 00000000 00:00 0 [stack]", "7ffd1c5e0000-7ffd1c601000", true},
		{"Rss:                 120 kB", "", false},
		{"VmFlags: rd ex mr mw me dw", "", false},
	}
	for _, tt := range tests {
		addr, ok := mappingHeader(strings.Fields(tt.line))
		if addr != tt.addr || ok != tt.ok {
			t.Errorf("mappingHeader(%q) = %q, %v; want %q, %v", tt.line, addr, ok, tt.addr, tt.ok)
		}
	}
}

// In a synctest bubble, whose clock moves only when every goroutine in
// it is blocked: the timings are exact.
func TestIdleTrimsOnceAfterTheLastTouch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const delay = 10 * time.Second
		var trims atomic.Int32
		idle := NewIdle(delay, func() { trims.Add(1) })
		defer idle.Stop()
		check := func(when string, want int32) {
			t.Helper()
			synctest.Wait()
			if n := trims.Load(); n != want {
				t.Fatalf("%s: %d trims, want %d", when, n, want)
			}
		}

		// Touched more often than delay: no trim.
		for range 6 {
			idle.Touch()
			time.Sleep(delay / 2)
		}
		check("while touched", 0)
		// Left alone: one trim, however long the idle spell.
		time.Sleep(delay / 2)
		check("once idle for delay", 1)
		time.Sleep(10 * delay)
		check("after a long idle spell", 1)
		// Touched again: one more once idle again.
		idle.Touch()
		time.Sleep(delay + time.Second)
		check("after a second idle spell", 2)
		// Stopped: none.
		idle.Touch()
		idle.Stop()
		time.Sleep(2 * delay)
		check("after Stop", 2)
	})
}

// Never touched, a process is trimmed once too.
func TestIdleTrimsAnUntouchedProcess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var trims atomic.Int32
		idle := NewIdle(time.Second, func() { trims.Add(1) })
		defer idle.Stop()
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := trims.Load(); n != 1 {
			t.Fatalf("%d trims, want 1", n)
		}
	})
}
