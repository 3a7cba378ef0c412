package cli

import (
	"testing"

	"github.com/moby/moby/api/types/jsonstream"
)

func TestProgressBar(t *testing.T) {
	// The figures are padded to 8 columns, as docker's "%8v/%v".
	for _, tc := range []struct {
		current, total int64
		width          uint
		want           string
	}{
		{0, 0, 120, ""},
		{5 << 20, 10 << 20, 80, " 5.243MB/10.49MB"},
		{5 << 20, 10 << 20, 120, "[=========================>                         ]  5.243MB/10.49MB"},
		{10 << 20, 10 << 20, 120, "[==================================================>]  10.49MB/10.49MB"},
		{3 << 20, 0, 120, " 3.146MB"},
	} {
		if got := progressBar(jsonstream.Progress{Current: tc.current, Total: tc.total}, tc.width); got != tc.want {
			t.Errorf("progressBar(%d/%d, width %d) = %q, want %q", tc.current, tc.total, tc.width, got, tc.want)
		}
	}
}
