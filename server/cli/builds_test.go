package cli

import (
	"net/http"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/server/wire"
)

const (
	buildA = "3b1f0c9d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c"
	buildB = "3b1f0c9d8e7affffffffffffffffffffffffffffffffffffffffffffffffffff"
	buildC = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b"
)

// recordedBuilds is what the fake daemon lists, newest first.
var recordedBuilds = []wire.Build{
	{ID: buildC, Status: "running", Tags: []string{}, Started: testNow.Add(-3 * time.Second)},
	{ID: buildB, Status: "failed", Tags: []string{"web:v2"}, Started: testNow.Add(-time.Hour), Finished: testNow.Add(-time.Hour + 1500*time.Millisecond), Error: "boom"},
	{ID: buildA, Status: "succeeded", Tags: []string{"web:v1", "web:latest"}, ImageID: "sha256:8a9171897436d4a759d22162b420826fde745ae5fcad34eedc46dcca49ad715c",
		Started: testNow.Add(-48 * time.Hour), Finished: testNow.Add(-48*time.Hour + 2*time.Minute + 3400*time.Millisecond)},
}

func TestBuildsList(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "" +
			"ID             STATUS      TAGS                 IMAGE          STARTED             DURATION\n" +
			"9a8b7c6d5e4f   running     <none>                              3 seconds ago       3s\n" +
			"3b1f0c9d8e7a   failed      web:v2                              About an hour ago   1.5s\n" +
			"3b1f0c9d8e7a   succeeded   web:v1, web:latest   8a9171897436   2 days ago          2m3s\n"},
		{[]string{"-q"}, "9a8b7c6d5e4f\n3b1f0c9d8e7a\n3b1f0c9d8e7a\n"},
		{[]string{"--no-trunc", "--format", "{{.ID}} {{.Status}} {{.Image}} {{.Error}}"}, "" +
			buildC + " running  \n" +
			buildB + " failed  boom\n" +
			buildA + " succeeded sha256:8a9171897436d4a759d22162b420826fde745ae5fcad34eedc46dcca49ad715c \n"},
	}
	for _, tt := range tests {
		d := newFakeDaemon(t)
		d.answerJSON("GET /skiff/builds", http.StatusOK, recordedBuilds)

		res := d.cli().run(t, append([]string{"builds"}, tt.args...)...)

		res.expectSuccess(t)
		expectOutput(t, res.stdout, tt.want)
	}
}

func TestBuildsLogs(t *testing.T) {
	tests := []struct {
		name     string
		ref      string
		messages []string
		code     int
		stdout   string
		stderr   string
	}{
		{"a short ID", "9a8b7c", []string{`{"stream":"Step 1/1 : FROM busybox\n"}`, `{"aux":{"ID":"sha256:3f0a"}}`}, 0, "Step 1/1 : FROM busybox\n", ""},
		{"a failed build", buildB, []string{`{"stream":"Step 1/1 : RUN false\n"}`, `{"errorDetail":{"message":"boom"},"error":"boom"}`}, 1, "Step 1/1 : RUN false\n", "boom\n"},
		{"an ambiguous ID", "3b1f", nil, 1, "", "build ID 3b1f is ambiguous: 2 builds match\n"},
		{"an unknown ID", "ffff", nil, 1, "", "no such build: ffff\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			d.answerJSON("GET /skiff/builds", http.StatusOK, recordedBuilds)
			for _, b := range recordedBuilds {
				d.answerStream("GET /skiff/builds/"+b.ID+"/logs", tt.messages...)
			}

			res := d.cli().run(t, "builds", "logs", tt.ref)

			res.expectExit(t, tt.code, tt.stderr)
			expectOutput(t, res.stdout, tt.stdout)
		})
	}
}

func TestBuildsCancel(t *testing.T) {
	tests := []struct {
		name   string
		status int
		code   int
		stdout string
		stderr string
	}{
		{"running", http.StatusNoContent, 0, "9a8b7c\n", ""},
		{"finished", http.StatusConflict, 1, "", "Error response from daemon: build " + buildC + " is not running (status succeeded)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			d.answerJSON("GET /skiff/builds", http.StatusOK, recordedBuilds)
			d.handle("DELETE /skiff/builds/"+buildC, func(w http.ResponseWriter, _ *http.Request) {
				if tt.status == http.StatusNoContent {
					w.WriteHeader(tt.status)
					return
				}
				writeJSON(w, tt.status, map[string]string{"message": "build " + buildC + " is not running (status succeeded)"})
			})

			res := d.cli().run(t, "builds", "cancel", "9a8b7c")

			res.expectExit(t, tt.code, tt.stderr)
			expectOutput(t, res.stdout, tt.stdout)
		})
	}
}
