package server

import (
	"os"
	"testing"

	"github.com/skiff-dev/skiff/engine/monitor"
	"github.com/skiff-dev/skiff/engine/runtime"
)

// TestMain lets the test binary serve as the skiff binary that the engine
// re-executes as a container's monitor and init.
func TestMain(m *testing.M) {
	runtime.MaybeReexec()
	monitor.MaybeReexec()
	os.Exit(m.Run())
}
