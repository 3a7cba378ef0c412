package cli

import (
	"strings"
	"testing"

	"github.com/moby/moby/api/types/jsonstream"
)

func TestProgressBar(t *testing.T) {
	for _, tc := range []struct {
		p     jsonstream.Progress
		width uint
		want  string
	}{
		{jsonstream.Progress{Current: 12_300_000, Total: 49_200_000}, 120, "[============>                                     ]   12.3MB/49.2MB"},
		{jsonstream.Progress{Current: 5, Total: 5}, 0, "[==================================================]       5B/5B"},
		{jsonstream.Progress{Current: 12_300_000, Total: 49_200_000}, 80, "12.3MB/49.2MB"},
		{jsonstream.Progress{}, 120, ""},
	} {
		if got := progressBar(tc.p, tc.width); got != tc.want {
			t.Errorf("progressBar(%+v, %d) = %q, want %q", tc.p, tc.width, got, tc.want)
		}
	}
}

func TestPullDisplayRedrawsEachLayerInPlace(t *testing.T) {
	stream := `{"status":"Pulling from test/two","id":"v1"}
{"status":"Pulling fs layer","progressDetail":{},"id":"aaaaaaaaaaaa"}
{"status":"Pulling fs layer","progressDetail":{},"id":"bbbbbbbbbbbb"}
{"status":"Downloading","progressDetail":{"current":50,"total":100},"id":"aaaaaaaaaaaa"}
{"status":"Pull complete","progressDetail":{},"id":"bbbbbbbbbbbb"}
{"status":"Digest: sha256:abc"}
`
	var out strings.Builder
	if err := printPullStream(strings.NewReader(stream), &pullDisplay{out: &out, width: 120}); err != nil {
		t.Fatal(err)
	}
	want := "v1: Pulling from test/two\n" +
		"\n\x1b[1A\r\x1b[2Kaaaaaaaaaaaa: Pulling fs layer\x1b[1B\r" +
		"\n\x1b[1A\r\x1b[2Kbbbbbbbbbbbb: Pulling fs layer\x1b[1B\r" +
		"\x1b[2A\r\x1b[2Kaaaaaaaaaaaa: Downloading [=========================>                        ]      50B/100B\x1b[2B\r" +
		"\x1b[1A\r\x1b[2Kbbbbbbbbbbbb: Pull complete\x1b[1B\r" +
		"Digest: sha256:abc\n"
	if out.String() != want {
		t.Errorf("drew\n%q\nwant\n%q", out.String(), want)
	}
}
