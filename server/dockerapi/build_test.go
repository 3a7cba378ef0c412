package dockerapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/server/internal/apitest"
)

// serveBuilds serves the build routes over a fake builder on loopback.
func serveBuilds(t *testing.T, f *apitest.Builds) *httptest.Server {
	t.Helper()
	e := apitest.NewEcho()
	(&buildRoutes{b: f}).register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url, contentType string, body io.Reader) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, body)
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

func strp(s string) *string { return &s }

func TestBuildQueryParameters(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  engine.BuildOptions
	}{
		{"defaults: rm is on", "", engine.BuildOptions{Remove: true}},
		{"the docker CLI's call", "dockerfile=Dockerfile&t=x&version=1",
			engine.BuildOptions{Dockerfile: "Dockerfile", Tags: []string{"x"}, Remove: true}},
		{"several tags, repeats dropped", "t=a&t=b:v1&t=a",
			engine.BuildOptions{Tags: []string{"a", "b:v1"}, Remove: true}},
		{"rm=0 keeps intermediates", "rm=0", engine.BuildOptions{}},
		{"forcerm and nocache", "forcerm=1&nocache=1",
			engine.BuildOptions{Remove: true, ForceRemove: true, NoCache: true}},
		{"build args, null is no value", `buildargs={"A":"1","B":null,"C":""}`,
			engine.BuildOptions{Remove: true, BuildArgs: map[string]*string{"A": strp("1"), "B": nil, "C": strp("")}}},
		{"labels, target, platform, file", `labels={"l":"v"}&target=base&platform=linux/amd64&dockerfile=sub/Dockerfile.dev`,
			engine.BuildOptions{Remove: true, Labels: map[string]string{"l": "v"}, Target: "base", Platform: "linux/amd64", Dockerfile: "sub/Dockerfile.dev"}},
		{"docker 20.10 sends everything, empty", "cachefrom=[]&ulimits=null&buildargs={}&labels={}&networkmode=default&rm=1&target=&t=",
			engine.BuildOptions{Remove: true, BuildArgs: map[string]*string{}, Labels: map[string]string{}}},
		{"resource options are ignored", "cpushares=2&memory=1000&memswap=-1&shmsize=64&cpusetcpus=0&extrahosts=a:1.2.3.4&pull=1&q=1",
			engine.BuildOptions{Remove: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := apitest.NewBuilds()
			f.Log = []engine.BuildMessage{{ImageID: "sha256:1"}}
			srv := serveBuilds(t, f)
			resp, body := post(t, srv.URL+"/build?"+escapeQuery(tt.query), "application/x-tar", strings.NewReader("ctx"))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			b := f.Started()
			if !reflect.DeepEqual(b.Opts, tt.want) {
				t.Errorf("options\n got %+v\nwant %+v", b.Opts, tt.want)
			}
			if string(b.Context) != "ctx" {
				t.Errorf("context %q, want the request body", b.Context)
			}
		})
	}
}

// escapeQuery escapes the JSON in a readable test query.
func escapeQuery(q string) string {
	return strings.NewReplacer(`"`, "%22", "{", "%7B", "}", "%7D", " ", "%20").Replace(q)
}

func TestBuildRefusesBadParameters(t *testing.T) {
	tests := []struct {
		query string
		want  string
	}{
		{"remote=https://example.com/ctx.tar", "remote build contexts are not supported"},
		{"buildargs=notjson", "invalid buildargs"},
		{`labels=["a"]`, "invalid labels"},
		{"t=Not/Lowercase", "invalid reference format"},
		{"version=2", "BuildKit is not supported"},
		{"squash=1", "squash is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			srv := serveBuilds(t, apitest.NewBuilds())
			resp, body := post(t, srv.URL+"/build?"+escapeQuery(tt.query), "application/x-tar", strings.NewReader("ctx"))
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %s, want 400 with %q", resp.StatusCode, body, tt.want)
			}
		})
	}
}

func TestBuildStream(t *testing.T) {
	steps := []engine.BuildMessage{
		{Stream: "Step 1/2 : FROM busybox\n"},
		{Stream: " ---> 1c35c4412082\n"},
		{Stream: "Step 2/2 : RUN echo hi\n"},
		{Stream: "hi\n"},
	}
	done := []engine.BuildMessage{
		{Stream: "Successfully built 3f0a1b2c3d4e\n"},
		{ImageID: "sha256:3f0a1b2c3d4e"},
	}
	failed := engine.BuildMessage{Error: "The command '/bin/sh -c false' returned a non-zero code: 1"}
	tests := []struct {
		name  string
		query string
		log   []engine.BuildMessage
		want  []string
	}{
		{"success", "", append(steps, done...), []string{
			`{"stream":"Step 1/2 : FROM busybox\n"}`,
			`{"stream":" ---\u003e 1c35c4412082\n"}`,
			`{"stream":"Step 2/2 : RUN echo hi\n"}`,
			`{"stream":"hi\n"}`,
			`{"stream":"Successfully built 3f0a1b2c3d4e\n"}`,
			`{"aux":{"ID":"sha256:3f0a1b2c3d4e"}}`,
		}},
		{"failure", "", append(steps, failed), []string{
			`{"stream":"Step 1/2 : FROM busybox\n"}`,
			`{"stream":" ---\u003e 1c35c4412082\n"}`,
			`{"stream":"Step 2/2 : RUN echo hi\n"}`,
			`{"stream":"hi\n"}`,
			`{"errorDetail":{"message":"The command '/bin/sh -c false' returned a non-zero code: 1"},"error":"The command '/bin/sh -c false' returned a non-zero code: 1"}`,
		}},
		{"quiet: only the ID", "q=1", append(steps, done...), []string{
			`{"stream":"sha256:3f0a1b2c3d4e\n"}`,
		}},
		{"quiet failure: the error", "q=1", append(steps, failed), []string{
			`{"errorDetail":{"message":"The command '/bin/sh -c false' returned a non-zero code: 1"},"error":"The command '/bin/sh -c false' returned a non-zero code: 1"}`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := apitest.NewBuilds()
			f.Log = tt.log
			srv := serveBuilds(t, f)
			resp, body := post(t, srv.URL+"/build?"+tt.query, "application/x-tar", strings.NewReader("ctx"))
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if id := resp.Header.Get(BuildIDHeader); id != "b1" {
				t.Errorf("%s: %q, want b1", BuildIDHeader, id)
			}
			got := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("stream\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
		})
	}
}

func TestBuildStartErrorIsAnErrorResponse(t *testing.T) {
	f := apitest.NewBuilds()
	f.StartErr = errdefs.ErrInvalidArgument.WithMessage("dockerfile parse error on line 1: unknown instruction: FORM")
	srv := serveBuilds(t, f)
	resp, body := post(t, srv.URL+"/build", "application/x-tar", strings.NewReader("ctx"))
	var answer struct{ Message string }
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if resp.StatusCode != http.StatusBadRequest || answer.Message != "dockerfile parse error on line 1: unknown instruction: FORM" {
		t.Errorf("got %d %s", resp.StatusCode, body)
	}
}

// A client that goes away cancels its build: the build runs under the
// request's context.
func TestBuildEndsWithItsClient(t *testing.T) {
	f := apitest.NewBuilds()
	f.Log = []engine.BuildMessage{{Stream: "Step 1/1 : RUN sleep 1000\n"}}
	srv := serveBuilds(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/build", strings.NewReader("ctx"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first, err := readLine(resp.Body)
	if err != nil || first != `{"stream":"Step 1/1 : RUN sleep 1000\n"}` {
		t.Fatalf("first message %q, %v", first, err)
	}
	cancel()
	<-f.Started().Ctx.Done()
}

// readLine reads up to a newline, byte by byte, so nothing after it is
// consumed.
func readLine(r io.Reader) (string, error) {
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := r.Read(b); err != nil {
			return string(line), err
		}
		if b[0] == '\n' {
			return string(line), nil
		}
		line = append(line, b[0])
	}
}

func TestBuildCancel(t *testing.T) {
	f := apitest.NewBuilds()
	f.Log = []engine.BuildMessage{{Stream: "Step 1/1 : RUN sleep 1000\n"}}
	srv := serveBuilds(t, f)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/build?buildid=client-chosen", strings.NewReader("ctx"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := f.Started()

	tests := []struct {
		id     string
		status int
	}{
		{"client-chosen", http.StatusOK}, // the buildid given to /build
		{b.ID, http.StatusOK},            // skiff's own
		{"unknown", http.StatusNotFound},
		{"", http.StatusBadRequest},
	}
	for _, tt := range tests {
		resp, body := post(t, srv.URL+"/build/cancel?id="+tt.id, "", nil)
		if resp.StatusCode != tt.status {
			t.Errorf("cancel %q: %d %s, want %d", tt.id, resp.StatusCode, body, tt.status)
		}
	}
	if !b.WasCanceled() {
		t.Error("the build was not cancelled")
	}
	b.Emit(engine.BuildMessage{Error: "cancelled"})
}

func TestBuildPrune(t *testing.T) {
	srv := serveBuilds(t, apitest.NewBuilds())
	resp, body := post(t, srv.URL+"/build/prune", "", nil)
	if resp.StatusCode != http.StatusOK || body != `{"CachesDeleted":[],"SpaceReclaimed":0}`+"\n" {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
}
