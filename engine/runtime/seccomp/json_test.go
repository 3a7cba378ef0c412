package seccomp

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// A filter survives its Program form, JSON included, unchanged: a daemon
// compiles it once and hands it to the inits that install it.
func TestProgramRoundTrip(t *testing.T) {
	f, err := Default(defaultCaps)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(f.Program())
	if err != nil {
		t.Fatal(err)
	}
	var p Program
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	got, err := p.Filter()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.prog, f.prog) || got.flags != f.flags {
		t.Errorf("decoded filter: %d instructions, flags %#x; want %d, %#x", got.Len(), got.flags, f.Len(), f.flags)
	}
}

func TestProgramRefusesBadPrograms(t *testing.T) {
	tests := []struct {
		name  string
		insns []byte
		want  string
	}{
		{"none", nil, "a program of 0 bytes"},
		{"part of an instruction", make([]byte, 9), "a program of 9 bytes"},
		{"too long", make([]byte, (maxInsns+1)*insnSize), "not 1 to 4096 instructions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Program{Insns: tt.insns}
			if _, err := p.Filter(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Filter() = %v, want an error with %q", err, tt.want)
			}
		})
	}
}
