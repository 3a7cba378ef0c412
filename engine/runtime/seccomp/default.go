package seccomp

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	profiles "github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// defaultFilters caches Default's filters by capability set (the key is the
// canonical, comma-joined list). Kernel version and GOARCH, the profile's
// other inputs, do not change while the process runs.
var defaultFilters sync.Map // string -> *Filter

// Default returns Docker's default seccomp profile compiled for a container
// with the given capabilities ("CAP_SYS_ADMIN"; case and the CAP_ prefix do
// not matter), the running kernel and GOARCH. As in Docker, the
// capability-gated syscall groups are allowed only when their capability is
// present; with CAP_SYS_ADMIN, for instance, mount, unshare, setns and
// clone with namespace flags are allowed and clone3 is no longer ENOSYS.
//
// Filters are compiled once per capability set and shared.
func Default(capabilities []string) (*Filter, error) {
	caps := canonicalCaps(capabilities)
	key := strings.Join(caps, ",")
	if f, ok := defaultFilters.Load(key); ok {
		return f.(*Filter), nil
	}
	f, err := compileDefault(caps)
	if err != nil {
		return nil, err
	}
	cached, _ := defaultFilters.LoadOrStore(key, f)
	return cached.(*Filter), nil
}

// compileDefault compiles Docker's default profile, uncached.
func compileDefault(caps []string) (*Filter, error) {
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
