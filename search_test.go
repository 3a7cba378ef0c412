package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/skiff-dev/skiff/engine/registry/registrytest"
	"github.com/skiff-dev/skiff/engine/testimage"
)

// hubIndex serves Docker Hub's search API (/v1/search?q=&n=) on loopback,
// in place of index.docker.io, and records the queries it gets.
type hubIndex struct {
	*httptest.Server
	mu      sync.Mutex
	queries []string
}

func startHubIndex(t *testing.T) *hubIndex {
	t.Helper()
	results := []map[string]any{
		{"name": "busybox", "description": "Busybox base image.", "star_count": 3400, "is_official": true, "is_automated": false},
		{"name": "someone/busybox-tools", "description": "Handy tools built on busybox, with a description\nlonger than the column", "star_count": 12, "is_official": false, "is_automated": true},
		{"name": "other/busybox", "description": "", "star_count": 5000, "is_official": false, "is_automated": false},
	}
	idx := &hubIndex{}
	idx.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		idx.mu.Lock()
		idx.queries = append(idx.queries, r.URL.RawQuery)
		idx.mu.Unlock()
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		page := results[:min(n, len(results))]
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"query": r.URL.Query().Get("q"), "num_results": len(page), "results": page})
	}))
	t.Cleanup(idx.Close)
	return idx
}

func TestSearchWithBothCLIs(t *testing.T) {
	idx := startHubIndex(t)
	reg := registrytest.Start(t)
	img := registrytest.Image(t, testimage.Rootfs(t))
	registrytest.Push(t, img, reg.Host+"/test/busybox:v1")
	registrytest.Push(t, img, reg.Host+"/test/nginx:v1")
	d := startSkiffd(t, "", "--registry-index-url", idx.URL)

	tests := []struct {
		args []string
		want string
	}{
		{
			args: []string{"busybox"},
			want: `NAME                    DESCRIPTION                                     STARS     OFFICIAL
busybox                 Busybox base image.                             3400      [OK]
someone/busybox-tools   Handy tools built on busybox, with a descrip…   12        
other/busybox                                                           5000      
`,
		},
		{
			args: []string{"--limit", "2", "--no-trunc", "busybox"},
			want: `NAME                    DESCRIPTION                                                               STARS     OFFICIAL
busybox                 Busybox base image.                                                       3400      [OK]
someone/busybox-tools   Handy tools built on busybox, with a description longer than the column   12        
`,
		},
		{
			args: []string{"--filter", "stars=100", "busybox"},
			want: `NAME            DESCRIPTION           STARS     OFFICIAL
busybox         Busybox base image.   3400      [OK]
other/busybox                         5000      
`,
		},
		{
			args: []string{"-f", "is-official=true", "--format", "{{.Name}} {{.StarCount}}", "busybox"},
			want: "busybox 3400\n",
		},
		{
			args: []string{reg.Host + "/bus"},
			// The name column is as wide as the name, which holds the
			// registry's port.
			want: fmt.Sprintf("%-*s   DESCRIPTION   STARS     OFFICIAL\n%s                 0         \n",
				len(reg.Host+"/test/busybox"), "NAME", reg.Host+"/test/busybox"),
		},
		{
			args: []string{"--filter", "is-official=true", reg.Host + "/test"},
			want: "NAME      DESCRIPTION   STARS     OFFICIAL\n",
		},
	}
	for _, tt := range tests {
		for cli, search := range map[string]func(...string) result{"skiff": d.skiff, "docker": d.docker} {
			if got := mustSucceed(t, cli+" search", search(append([]string{"search"}, tt.args...)...)); got != tt.want {
				t.Errorf("%s search %s printed\n%s\nwant\n%s", cli, strings.Join(tt.args, " "), got, tt.want)
			}
		}
	}
	idx.mu.Lock()
	queries := strings.Join(idx.queries, " ")
	idx.mu.Unlock()
	if want := "q=busybox&n=25 q=busybox&n=25 q=busybox&n=2 q=busybox&n=2"; !strings.HasPrefix(queries, want) {
		t.Errorf("the index was asked %s, want it to begin with %s", queries, want)
	}

	// A loopback port with nothing listening on it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := l.Addr().String()
	l.Close()
	refusals := []struct {
		args []string
		want string
	}{
		{[]string{"--limit", "101", "busybox"}, "Error response from daemon: limit 101 is outside the range of [1, 100]\n"},
		{[]string{"--filter", "automated=true", "busybox"}, "Error response from daemon: invalid filter 'automated'\n"},
		{[]string{"--filter", "is-official=maybe", "busybox"}, "Error response from daemon: invalid filter 'is-official=maybe'\n"},
		{[]string{unreachable + "/busybox"}, "Error response from daemon: search " + unreachable + `: Get "https://` + unreachable + `/v2/": `},
	}
	for _, tt := range refusals {
		for cli, search := range map[string]func(...string) result{"skiff": d.skiff, "docker": d.docker} {
			r := search(append([]string{"search"}, tt.args...)...)
			if r.code != 1 || !strings.HasPrefix(r.stderr, tt.want) || (strings.HasPrefix(tt.args[0], unreachable) && !strings.Contains(r.stderr, "connection refused")) {
				t.Errorf("%s search %s: exit %d, stderr %q; want exit 1 and %q", cli, strings.Join(tt.args, " "), r.code, r.stderr, tt.want)
			}
		}
	}
}
