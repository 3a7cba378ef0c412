package seccomp

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	profiles "github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// defaultFilters caches Default's filters by capability set (the key is the
// canonical, comma-joined list). Kernel version and GOARCH, the profile's
// other inputs, do not change while the process runs.
var defaultFilters sync.Map // string -> *compiled

// compiled is one capability set's filter, compiled once: callers that
// come while it compiles wait for it rather than compile it again.
type compiled struct {
	once   sync.Once
	filter *Filter
	err    error
}

// Default returns Docker's default seccomp profile compiled for a container
// with the given capabilities ("CAP_SYS_ADMIN"; case and the CAP_ prefix do
// not matter), the running kernel and GOARCH. As in Docker, the
// capability-gated syscall groups are allowed only when their capability is
// present; with CAP_SYS_ADMIN, for instance, mount, unshare, setns and
// clone with namespace flags are allowed and clone3 is no longer ENOSYS.
//
// Filters are compiled once per capability set and shared, the compile
// under way included.
func Default(capabilities []string) (*Filter, error) {
	caps := canonicalCaps(capabilities)
	v, _ := defaultFilters.LoadOrStore(strings.Join(caps, ","), &compiled{})
	c := v.(*compiled)
	c.once.Do(func() { c.filter, c.err = compileDefault(caps) })
	return c.filter, c.err
}

// defaultCompiles counts compileDefault's calls, for tests.
var defaultCompiles atomic.Int64

// compileDefault compiles Docker's default profile, uncached.
func compileDefault(caps []string) (*Filter, error) {
	defaultCompiles.Add(1)
	cfg, err := defaultProfile(caps)
	if err != nil {
		return nil, err
	}
	return Compile(cfg)
}

// defaultProfile returns Docker's default profile filtered for caps, the
// kernel version and GOARCH (moby/profiles looks at the bounding set).
func defaultProfile(caps []string) (*specs.LinuxSeccomp, error) {
	spec := &specs.Spec{Process: &specs.Process{
		Capabilities: &specs.LinuxCapabilities{Bounding: caps},
	}}
	cfg, err := profiles.GetDefaultProfile(spec)
	if err != nil {
		return nil, fmt.Errorf("seccomp: default profile: %w", err)
	}
	return cfg, nil
}

// canonicalCaps returns the capabilities upper-cased, CAP_-prefixed,
// sorted and without duplicates.
func canonicalCaps(capabilities []string) []string {
	caps := make([]string, 0, len(capabilities))
	for _, c := range capabilities {
		c = strings.ToUpper(strings.TrimSpace(c))
		if c == "" {
			continue
		}
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		caps = append(caps, c)
	}
	slices.Sort(caps)
	return slices.Compact(caps)
}
