package layer

import (
	"bytes"
	"testing"
)

func TestIsTarHeader(t *testing.T) {
	archive := makeTar(t, file("a", "x"))
	corrupt := bytes.Clone(archive)
	corrupt[0] ^= 1
	tests := []struct {
		name  string
		block []byte
		want  bool
	}{
		{"tar", archive[:TarBlockSize], true},
		{"corrupt header", corrupt[:TarBlockSize], false},
		{"zeros", make([]byte, TarBlockSize), false},
		{"text", bytes.Repeat([]byte("FROM busybox\n"), 50), false},
		{"short", archive[:100], false},
	}
	for _, tt := range tests {
		if got := IsTarHeader(tt.block); got != tt.want {
			t.Errorf("%s: IsTarHeader = %v, want %v", tt.name, got, tt.want)
		}
	}
}
