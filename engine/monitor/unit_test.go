package monitor

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestRing(t *testing.T) {
	var r ring
	var want []string // the frames expected, oldest first
	size := 0
	for i := range 5000 {
		p := fmt.Sprintf("frame %d %s", i, strings.Repeat("x", i%97))
		r.add(byte(1+i%2), []byte(p))
		want, size = append(want, p), size+frameHeaderLen+len(p)
		for size > ringSize {
			size -= frameHeaderLen + len(want[0])
			want = want[1:]
		}
	}
	var got []string
	r.each(func(stream byte, p []byte) { got = append(got, string(p)) })
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ring kept %d frames, want %d (first %q, want %q)", len(got), len(want), got[0], want[0])
	}

	// A chunk larger than the ring keeps its end, alone.
	big := bytes.Repeat([]byte("0123456789"), ringSize/5)
	r.add(1, big)
	got = nil
	r.each(func(stream byte, p []byte) { got = append(got, string(p)) })
	if len(got) != 1 || !strings.HasSuffix(string(big), got[0]) || len(got[0]) != ringSize-frameHeaderLen {
		t.Fatalf("after a big chunk: %d frames, first %d bytes", len(got), len(got[0]))
	}
}

func TestWireError(t *testing.T) {
	for _, err := range []error{
		errdefs.ErrNotFound.WithMessage(`exec: "x": executable file not found in $PATH`),
		fmt.Errorf("start: %w", errdefs.ErrPermissionDenied),
		fmt.Errorf("plain"),
	} {
		back := toWire(err).err()
		if back.Error() != err.Error() {
			t.Errorf("%v: came back as %q", err, back)
		}
		if errdefs.IsNotFound(back) != errdefs.IsNotFound(err) || errdefs.IsPermissionDenied(back) != errdefs.IsPermissionDenied(err) {
			t.Errorf("%v: class lost (%v)", err, errdefs.Resolve(back))
		}
	}
	if toWire(nil).err() != nil {
		t.Error("nil error did not stay nil")
	}
}
