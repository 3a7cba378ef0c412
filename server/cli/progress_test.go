package cli

import (
	"encoding/json"
	"strings"
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

func TestProgressBarsRedrawEachLayerInPlace(t *testing.T) {
	stream := `{"status":"Pulling from test/two","id":"v1"}
{"status":"Pulling fs layer","progressDetail":{},"id":"aaaaaaaaaaaa"}
{"status":"Pulling fs layer","progressDetail":{},"id":"bbbbbbbbbbbb"}
{"status":"Downloading","progressDetail":{"current":50,"total":100},"id":"aaaaaaaaaaaa"}
{"status":"Pull complete","progressDetail":{},"id":"bbbbbbbbbbbb"}
{"status":"Digest: sha256:abc"}
`
	var out strings.Builder
	bars := &progressBars{out: &out, width: 120, lines: map[string]int{}}
	decoder := json.NewDecoder(strings.NewReader(stream))
	for decoder.More() {
		var msg jsonstream.Message
		if err := decoder.Decode(&msg); err != nil {
			t.Fatal(err)
		}
		bars.show(msg)
	}
	// docker's jsonmessage: up to the layer's line, clear it, write it
	// ending in \r, back down.
	want := "v1: Pulling from test/two\n" +
		"\n\x1b[1A\x1b[2K\raaaaaaaaaaaa: Pulling fs layer \r\x1b[1B" +
		"\n\x1b[1A\x1b[2K\rbbbbbbbbbbbb: Pulling fs layer \r\x1b[1B" +
		"\x1b[2A\x1b[2K\raaaaaaaaaaaa: Downloading [=========================>                         ]      50B/100B\r\x1b[2B" +
		"\x1b[1A\x1b[2K\rbbbbbbbbbbbb: Pull complete \r\x1b[1B" +
		"Digest: sha256:abc\n"
	if out.String() != want {
		t.Errorf("drew\n%q\nwant\n%q", out.String(), want)
	}
}
