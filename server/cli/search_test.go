package cli

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/moby/moby/api/types/registry"
)

func sampleSearch() []registry.SearchResult {
	return []registry.SearchResult{
		{Name: "busybox", Description: "Busybox base image.", StarCount: 3400, IsOfficial: true},
		{Name: "someone/busybox-tools", Description: "Tools for busybox, described at length\non two lines", StarCount: 12},
		{Name: "127.0.0.1:5000/test/busybox"},
	}
}

func TestSearchOutput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "table",
			want: `NAME                          DESCRIPTION                                     STARS     OFFICIAL
busybox                       Busybox base image.                             3400      [OK]
someone/busybox-tools         Tools for busybox, described at length on tw…   12        
127.0.0.1:5000/test/busybox                                                   0         
`,
		},
		{
			name: "no-trunc",
			args: []string{"--no-trunc"},
			want: `NAME                          DESCRIPTION                                           STARS     OFFICIAL
busybox                       Busybox base image.                                   3400      [OK]
someone/busybox-tools         Tools for busybox, described at length on two lines   12        
127.0.0.1:5000/test/busybox                                                         0         
`,
		},
		{
			name: "template",
			args: []string{"--format", "{{.Name}}: {{.StarCount}} {{.IsOfficial}}"},
			want: "busybox: 3400 [OK]\nsomeone/busybox-tools: 12 \n127.0.0.1:5000/test/busybox: 0 \n",
		},
		{
			name: "json",
			args: []string{"--format", "json"},
			want: `{"Description":"Busybox base image.","IsOfficial":"true","Name":"busybox","StarCount":"3400"}
{"Description":"Tools for busybox, described at length on tw…","IsOfficial":"false","Name":"someone/busybox-tools","StarCount":"12"}
{"Description":"","IsOfficial":"false","Name":"127.0.0.1:5000/test/busybox","StarCount":"0"}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			d.answerJSON("GET /images/search", http.StatusOK, sampleSearch())

			res := d.cli().run(t, append([]string{"search", "busybox"}, tt.args...)...)

			res.expectSuccess(t)
			expectOutput(t, res.stdout, tt.want)
		})
	}
}

func TestSearchSendsLimitAndFilters(t *testing.T) {
	tests := []struct {
		args []string
		want map[string][]string
	}{
		{[]string{"busybox"}, map[string][]string{"term": {"busybox"}}},
		// docker sends no limit of 0: the daemon's default applies.
		{[]string{"--limit", "0", "busybox"}, map[string][]string{"term": {"busybox"}}},
		{[]string{"--limit", "5", "-f", "stars=3", "--filter", "is-official=true", "busybox"}, map[string][]string{
			"term": {"busybox"}, "limit": {"5"}, "filters": {`{"is-official":{"true":true},"stars":{"3":true}}`},
		}},
	}
	for _, tt := range tests {
		d := newFakeDaemon(t)
		d.answerJSON("GET /images/search", http.StatusOK, []registry.SearchResult{})

		res := d.cli().run(t, append([]string{"search"}, tt.args...)...)

		res.expectSuccess(t)
		expectOutput(t, res.stdout, "NAME      DESCRIPTION   STARS     OFFICIAL\n")
		if got := d.lastRequest(t).Query; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("search %v sent query %v, want %v", tt.args, got, tt.want)
		}
	}
}

func TestSearchErrors(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerError("GET /images/search", http.StatusBadRequest, "limit 101 is outside the range of [1, 100]")

	d.cli().run(t, "search", "--limit", "101", "busybox").
		expectExit(t, 1, "Error response from daemon: limit 101 is outside the range of [1, 100]\n")
	d.cli().run(t, "search", "-f", "stars", "busybox").
		expectExit(t, 125, "invalid argument \"stars\" for \"-f, --filter\" flag: bad format of filter (expected name=value)\n\nUsage:  skiff search [OPTIONS] TERM\n\nRun 'skiff search --help' for more information\n")
}
