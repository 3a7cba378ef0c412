package container

import (
	"testing"

	containertypes "github.com/moby/moby/api/types/container"

	"github.com/skiff-dev/skiff/engine/runtime/seccomp"
)

// A container's spec carries its seccomp filter compiled, the one
// seccomp.Default keeps for its capabilities; an unconfined one none.
func TestCompileSeccomp(t *testing.T) {
	tests := []struct {
		name string
		hc   containertypes.HostConfig
	}{
		{"default", containertypes.HostConfig{}},
		{"cap-drop", containertypes.HostConfig{CapDrop: []string{"NET_RAW"}}},
		{"unconfined", containertypes.HostConfig{SecurityOpt: []string{"seccomp=unconfined"}}},
		{"privileged", containertypes.HostConfig{Privileged: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sec, err := securityOf(&tt.hc)
			if err != nil {
				t.Fatal(err)
			}
			sec.SeccompFilter = &seccomp.Filter{} // a stale one goes
			if err := compileSeccomp(&sec); err != nil {
				t.Fatal(err)
			}
			var want *seccomp.Filter
			if sec.Seccomp {
				if want, err = seccomp.Default(sec.Capabilities); err != nil {
					t.Fatal(err)
				}
			}
			if sec.SeccompFilter != want {
				t.Errorf("filter %p, want %p (seccomp %v)", sec.SeccompFilter, want, sec.Seccomp)
			}
		})
	}
}
