package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestContextProgress(t *testing.T) {
	const size = 1200 << 10
	tests := []struct {
		name     string
		terminal bool
		want     []string // the sizes shown, before the last
	}{
		{"elsewhere: the total only", false, nil},
		// io.Discard reads 8KiB at a time: a line every 65 reads.
		{"a terminal: every 512kB", true, []string{"532.5kB", "1.065MB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := &contextProgress{r: bytes.NewReader(make([]byte, size)), out: &out, terminal: tt.terminal}
			if _, err := io.Copy(io.Discard, struct{ io.Reader }{p}); err != nil {
				t.Fatal(err)
			}
			var want strings.Builder
			for _, s := range tt.want {
				want.WriteString("Sending build context to Docker daemon  " + s + "\r")
			}
			want.WriteString("Sending build context to Docker daemon  1.229MB\r\r\n")
			if out.String() != want.String() {
				t.Errorf("got %q\nwant %q", out.String(), want.String())
			}
		})
	}
}
