package seccomp

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// A filter survives its JSON form unchanged: a daemon compiles it once and
// hands it to the inits that install it.
func TestFilterJSONRoundTrip(t *testing.T) {
	f, err := Default(defaultCaps)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var got Filter
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.prog, f.prog) || got.flags != f.flags {
		t.Errorf("decoded filter: %d instructions, flags %#x; want %d, %#x", got.Len(), got.flags, f.Len(), f.flags)
	}
}

func TestFilterJSONRefusesBadPrograms(t *testing.T) {
	program := func(n int) string {
		b, err := json.Marshal(filterJSON{Program: make([]byte, n)})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name, json, want string
	}{
		{"no program", `{"Program":null,"Flags":0}`, "a program of 0 bytes"},
		{"part of an instruction", program(9), "a program of 9 bytes"},
		{"too long", program((maxInsns + 1) * 8), "not 1 to 4096 instructions"},
		{"not an object", `"bpf"`, "seccomp filter: json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Filter
			err := json.Unmarshal([]byte(tt.json), &f)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Unmarshal = %v, want an error with %q", err, tt.want)
			}
		})
	}
}
