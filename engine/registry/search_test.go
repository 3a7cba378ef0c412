package registry

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/skiff-dev/skiff/engine/registry/registrytest"
	"github.com/skiff-dev/skiff/engine/testimage"
)

// fakeIndex serves Docker Hub's search API on loopback: the results whose
// name contains q, at most n, and records the requests.
type fakeIndex struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
}

var hubResults = []SearchResult{
	{Name: "busybox", Description: "Busybox base image.", StarCount: 3400, IsOfficial: true},
	{Name: "someone/busybox-tools", Description: "Tools", StarCount: 12, IsAutomated: true},
	{Name: "other/busybox", StarCount: 0},
	{Name: "nginx", StarCount: 9000, IsOfficial: true},
}

func startFakeIndex(t *testing.T) *fakeIndex {
	t.Helper()
	idx := &fakeIndex{}
	idx.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		idx.mu.Lock()
		idx.requests = append(idx.requests, r)
		idx.mu.Unlock()
		if r.URL.Path != "/v1/search" {
			http.NotFound(w, r)
			return
		}
		limit, _ := strconv.Atoi(r.URL.Query().Get("n"))
		var found []SearchResult
		for _, res := range hubResults {
			if strings.Contains(res.Name, r.URL.Query().Get("q")) && len(found) < limit {
				found = append(found, res)
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"query": r.URL.Query().Get("q"), "num_results": len(found), "results": found})
	}))
	t.Cleanup(idx.Close)
	return idx
}

func (idx *fakeIndex) last() *http.Request {
	idx.mu.Lock()
	defer idx.mu.Unlock()
	return idx.requests[len(idx.requests)-1]
}

func TestSearchDockerHub(t *testing.T) {
	idx := startFakeIndex(t)
	yes, no := true, false
	tests := []struct {
		name      string
		term      string
		opts      SearchOptions
		want      []string
		wantQuery string
	}{
		{name: "default limit", term: "busybox", want: []string{"busybox", "someone/busybox-tools", "other/busybox"}, wantQuery: "q=busybox&n=25"},
		{name: "limit", term: "busybox", opts: SearchOptions{Limit: 2}, want: []string{"busybox", "someone/busybox-tools"}, wantQuery: "q=busybox&n=2"},
		{name: "stars", term: "busybox", opts: SearchOptions{Stars: 12}, want: []string{"busybox", "someone/busybox-tools"}, wantQuery: "q=busybox&n=25"},
		{name: "official", term: "busybox", opts: SearchOptions{Official: &yes}, want: []string{"busybox"}, wantQuery: "q=busybox&n=25"},
		{name: "not official", term: "busybox", opts: SearchOptions{Official: &no}, want: []string{"someone/busybox-tools", "other/busybox"}, wantQuery: "q=busybox&n=25"},
		// The limit applies first, the filters to what it let through.
		{name: "limit then filter", term: "busybox", opts: SearchOptions{Limit: 1, Official: &no}, want: []string{}, wantQuery: "q=busybox&n=1"},
		{name: "docker.io named", term: "docker.io/library/busybox", want: []string{"busybox", "someone/busybox-tools", "other/busybox"}, wantQuery: "q=busybox&n=25"},
		{name: "user namespace", term: "someone/busy", want: []string{"someone/busybox-tools"}, wantQuery: "q=someone%2Fbusy&n=25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.IndexURL = idx.URL
			got, err := Search(context.Background(), tt.term, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			names := []string{}
			for _, r := range got {
				names = append(names, r.Name)
				if r.IsAutomated {
					t.Errorf("%s is_automated: true; Docker reports false for every result", r.Name)
				}
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Errorf("Search(%q) = %v, want %v", tt.term, names, tt.want)
			}
			req := idx.last()
			if req.URL.RawQuery != tt.wantQuery || req.Header.Get("X-Docker-Token") != "true" {
				t.Errorf("index asked %s with X-Docker-Token %q, want %s and true", req.URL.RawQuery, req.Header.Get("X-Docker-Token"), tt.wantQuery)
			}
		})
	}
	got, err := Search(context.Background(), "busybox", SearchOptions{IndexURL: idx.URL, Limit: 1})
	if err != nil || !reflect.DeepEqual(got, []SearchResult{hubResults[0]}) {
		t.Errorf("Search kept %+v, %v; want the index's result whole: %+v", got, err, hubResults[0])
	}
}

func TestSearchSendsHubAccount(t *testing.T) {
	idx := startFakeIndex(t)
	creds := func(host string) (Credentials, bool) {
		return Credentials{Username: "me", Password: "secret"}, host == "docker.io"
	}
	if _, err := Search(context.Background(), "busybox", SearchOptions{IndexURL: idx.URL, Credentials: creds}); err != nil {
		t.Fatal(err)
	}
	if user, pass, ok := idx.last().BasicAuth(); !ok || user != "me" || pass != "secret" {
		t.Errorf("index got account %q/%q (%v), want me/secret", user, pass, ok)
	}
}

func TestSearchRefusesBadInput(t *testing.T) {
	idx := startFakeIndex(t)
	tests := []struct {
		term string
		opts SearchOptions
		want string
	}{
		{"busybox", SearchOptions{Limit: 101}, "limit 101 is outside the range of [1, 100]"},
		{"busybox", SearchOptions{Limit: -1}, "limit -1 is outside the range of [1, 100]"},
		{"https://index.docker.io/busybox", SearchOptions{}, "invalid repository name: repository name (https://index.docker.io/busybox) should not have a scheme"},
	}
	for _, tt := range tests {
		tt.opts.IndexURL = idx.URL
		_, err := Search(context.Background(), tt.term, tt.opts)
		if !errdefs.IsInvalidArgument(err) || err.Error() != tt.want {
			t.Errorf("Search(%q, limit %d): %v, want invalid argument %q", tt.term, tt.opts.Limit, err, tt.want)
		}
	}
	idx.mu.Lock()
	defer idx.mu.Unlock()
	if len(idx.requests) != 0 {
		t.Errorf("the index was asked %d times for invalid searches", len(idx.requests))
	}
}

func TestSearchIndexFailure(t *testing.T) {
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer broken.Close()
	_, err := Search(context.Background(), "busybox", SearchOptions{IndexURL: broken.URL})
	if err == nil || err.Error() != "search "+broken.URL+": unexpected status code 503" {
		t.Errorf("search of a failing index: %v", err)
	}
}

func TestSearchRegistryCatalog(t *testing.T) {
	reg := registrytest.Start(t)
	img := registrytest.Image(t, testimage.Rootfs(t))
	for _, repo := range []string{"test/busybox", "test/nginx", "busybox", "tools/busybox-extras"} {
		registrytest.Push(t, img, reg.Host+"/"+repo+":v1")
	}
	ctx := context.Background()
	yes := true
	tests := []struct {
		name     string
		term     string
		limit    int
		pageSize int
		opts     SearchOptions
		want     []string
	}{
		{name: "one page", term: "bus", limit: 25, pageSize: 100, want: []string{"busybox", "test/busybox", "tools/busybox-extras"}},
		// Pages of one repository each: every match comes from following
		// the Link header.
		{name: "pages", term: "bus", limit: 25, pageSize: 1, want: []string{"busybox", "test/busybox", "tools/busybox-extras"}},
		{name: "limit across pages", term: "bus", limit: 2, pageSize: 1, want: []string{"busybox", "test/busybox"}},
		{name: "namespace", term: "test/", limit: 25, pageSize: 2, want: []string{"test/busybox", "test/nginx"}},
		{name: "everything", term: "", limit: 25, pageSize: 3, want: []string{"busybox", "test/busybox", "test/nginx", "tools/busybox-extras"}},
		{name: "no match", term: "redis", limit: 25, pageSize: 100, want: []string{}},
		{name: "nothing official there", term: "bus", limit: 25, pageSize: 100, opts: SearchOptions{Official: &yes}, want: []string{}},
		{name: "no stars there", term: "bus", limit: 25, pageSize: 100, opts: SearchOptions{Stars: 1}, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found, err := searchCatalog(ctx, reg.Host, tt.term, tt.limit, tt.pageSize, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if tt.opts.Official != nil || tt.opts.Stars > 0 {
				// Through Search, which applies the filters.
				tt.opts.Limit = tt.limit
				if found, err = Search(ctx, reg.Host+"/"+tt.term, tt.opts); err != nil {
					t.Fatal(err)
				}
			}
			want := []SearchResult{}
			for _, name := range tt.want {
				want = append(want, SearchResult{Name: reg.Host + "/" + name})
			}
			if !reflect.DeepEqual(found, want) {
				t.Errorf("search %s/%s = %+v\nwant %+v", reg.Host, tt.term, found, want)
			}
		})
	}
	got, err := Search(ctx, reg.Host+"/bus", SearchOptions{Limit: 1})
	if err != nil || len(got) != 1 || got[0].Name != reg.Host+"/busybox" {
		t.Errorf("Search(%s/bus, limit 1) = %+v, %v; want %s/busybox", reg.Host, got, err, reg.Host)
	}
}

func TestSearchUnreachableRegistry(t *testing.T) {
	// A loopback port with nothing listening on it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	_, err = Search(context.Background(), host+"/busybox", SearchOptions{})
	if !errdefs.IsUnavailable(err) || !strings.Contains(err.Error(), "search "+host+": ") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("search of an unreachable registry: %v, want unavailable, naming %s and the refused connection", err, host)
	}
}
