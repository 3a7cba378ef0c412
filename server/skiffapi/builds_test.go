package skiffapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/build"
	"github.com/skiff-dev/skiff/server/internal/apitest"
	"github.com/skiff-dev/skiff/server/wire"
)

// serveBuilds serves /skiff/builds over a fake builder on loopback; base is
// the server's base context.
func serveBuilds(t *testing.T, f *apitest.Builds, base context.Context) *httptest.Server {
	t.Helper()
	e := apitest.NewEcho()
	newBuildRoutes(f, func() context.Context { return base }).register(e.Group("/skiff"))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestBuildRecords(t *testing.T) {
	f := apitest.NewBuilds()
	f.Add(build.StatusSucceeded, engine.BuildMessage{ImageID: "sha256:aa"})
	f.Add(build.StatusRunning)
	srv := serveBuilds(t, f, context.Background())

	resp, body := do(t, http.MethodGet, srv.URL+"/skiff/builds", nil)
	var list []wire.Build
	if err := json.Unmarshal([]byte(body), &list); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %d %s %v", resp.StatusCode, body, err)
	}
	if len(list) != 2 || list[0].ID != "b2" || list[0].Status != "running" || list[1].ImageID != "sha256:aa" || list[1].Tags == nil {
		t.Errorf("list %+v", list)
	}
	if strings.Contains(body, "Finished") {
		t.Errorf("unfinished builds have no Finished time: %s", body)
	}

	tests := []struct {
		id     string
		status int
		want   string
	}{
		{"b1", http.StatusOK, `"Status":"succeeded"`},
		{"nope", http.StatusNotFound, `"message":"no such build: nope"`},
	}
	for _, tt := range tests {
		resp, body := do(t, http.MethodGet, srv.URL+"/skiff/builds/"+tt.id, nil)
		if resp.StatusCode != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s: %d %s, want %d with %s", tt.id, resp.StatusCode, body, tt.status, tt.want)
		}
	}
}

// A build started by an upload outlives its request, and ends with the
// server's base context.
func TestStartedBuildOutlivesItsRequest(t *testing.T) {
	base, stop := context.WithCancel(context.Background())
	defer stop()
	f := apitest.NewBuilds()
	srv := serveBuilds(t, f, base)

	resp, body := do(t, http.MethodPost, srv.URL+`/skiff/builds?t=web:v1&buildargs={"A":"1"}`, strings.NewReader("ctx"))
	if resp.StatusCode != http.StatusCreated || body != `{"Id":"b1"}`+"\n" || resp.Header.Get("Location") != "/skiff/builds/b1" {
		t.Fatalf("got %d %q, Location %q", resp.StatusCode, body, resp.Header.Get("Location"))
	}
	b := f.Started()
	if string(b.Context) != "ctx" || !reflect.DeepEqual(b.Opts.Tags, []string{"web:v1"}) || *b.Opts.BuildArgs["A"] != "1" || !b.Opts.Remove {
		t.Errorf("started with %+v and context %q", b.Opts, b.Context)
	}
	if err := b.Ctx.Err(); err != nil {
		t.Fatalf("the build ended with its request: %v", err)
	}
	stop()
	<-b.Ctx.Done()
}

func TestStartRefusesBadParameters(t *testing.T) {
	srv := serveBuilds(t, apitest.NewBuilds(), context.Background())
	resp, body := do(t, http.MethodPost, srv.URL+"/skiff/builds?buildargs=nope", strings.NewReader("ctx"))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid buildargs") {
		t.Errorf("got %d %s", resp.StatusCode, body)
	}
}

func TestCancelBuild(t *testing.T) {
	tests := []struct {
		name   string
		status build.Status
		id     string
		want   int
	}{
		{"running", build.StatusRunning, "b1", http.StatusNoContent},
		{"finished", build.StatusSucceeded, "b1", http.StatusConflict},
		{"unknown", build.StatusRunning, "b9", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := apitest.NewBuilds()
			b := f.Add(tt.status)
			srv := serveBuilds(t, f, context.Background())
			resp, body := do(t, http.MethodDelete, srv.URL+"/skiff/builds/"+tt.id, nil)
			if resp.StatusCode != tt.want {
				t.Errorf("got %d %s, want %d", resp.StatusCode, body, tt.want)
			}
			if b.WasCanceled() != (tt.want == http.StatusNoContent) {
				t.Errorf("cancelled: %v", b.WasCanceled())
			}
		})
	}
}
