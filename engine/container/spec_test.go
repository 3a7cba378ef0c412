package container

import (
	"reflect"
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
			sec.SeccompProgram = &seccomp.Program{} // a stale one goes
			if err := compileSeccomp(&sec); err != nil {
				t.Fatal(err)
			}
			var want *seccomp.Program
			if sec.Seccomp {
				f, err := seccomp.Default(sec.Capabilities)
				if err != nil {
					t.Fatal(err)
				}
				want = f.Program()
			}
			if !reflect.DeepEqual(sec.SeccompProgram, want) {
				t.Errorf("program of %d bytes, want %d (seccomp %v)", programSize(sec.SeccompProgram), programSize(want), sec.Seccomp)
			}
		})
	}
}

func programSize(p *seccomp.Program) int {
	if p == nil {
		return -1
	}
	return len(p.Insns)
}
