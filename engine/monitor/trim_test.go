package monitor

import (
	goruntime "runtime"
	"runtime/debug"
	"testing"
)

// The monitor runs with at most startingProcs Ps until its first trim
// and with one from then on.
func TestMonitorProcs(t *testing.T) {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(0))
	defer debug.SetGCPercent(debug.SetGCPercent(100))

	tests := []struct{ before, want int }{
		{before: 8, want: startingProcs},
		{before: startingProcs, want: startingProcs},
		{before: 1, want: 1}, // a one-CPU machine gets no more
	}
	for _, tt := range tests {
		goruntime.GOMAXPROCS(tt.before)
		tuneRuntime()
		if got := goruntime.GOMAXPROCS(0); got != tt.want {
			t.Errorf("GOMAXPROCS %d, then tuneRuntime: %d Ps, want %d", tt.before, got, tt.want)
		}
	}

	goruntime.GOMAXPROCS(startingProcs)
	trimMemory()
	if got := goruntime.GOMAXPROCS(0); got != 1 {
		t.Errorf("after trimMemory: %d Ps, want 1", got)
	}
}
