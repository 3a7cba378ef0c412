package cli

import (
	"net/http"
	"strings"
	"testing"
)

// busyboxInspect is an image as GET /images/{name}/json answers it,
// including a field the typed API does not know.
const busyboxInspect = `{"Id":"sha256:1111111111111111111111111111111111111111111111111111111111111111","RepoTags":["busybox:latest"],"Created":"2025-01-02T03:04:05Z","Config":{"Cmd":["sh"],"Labels":null},"Size":4261550,"Html":"<b>&</b>"}`

const webInspect = `{"Id":"0123456789ab","Name":"/web","State":{"Status":"running"}}`

// inspectDaemon knows the container "web" and the image "busybox".
func inspectDaemon(t *testing.T) *fakeDaemon {
	d := newFakeDaemon(t)
	d.handle("GET /containers/web/json", rawJSON(webInspect))
	d.handle("GET /images/busybox/json", rawJSON(busyboxInspect))
	for _, name := range []string{"busybox", "nope"} {
		d.answerError("GET /containers/"+name+"/json", http.StatusNotFound, "No such container: "+name)
	}
	for _, name := range []string{"web", "nope"} {
		d.answerError("GET /images/"+name+"/json", http.StatusNotFound, "No such image: "+name)
	}
	return d
}

func rawJSON(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body + "\n"))
	}
}

func TestInspectPrintsTheDaemonsJSONIndented(t *testing.T) {
	d := inspectDaemon(t)

	res := d.cli().run(t, "inspect", "web", "busybox")

	res.expectSuccess(t)
	want := `[
    {
        "Id": "0123456789ab",
        "Name": "/web",
        "State": {
            "Status": "running"
        }
    },
    {
        "Id": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
        "RepoTags": [
            "busybox:latest"
        ],
        "Created": "2025-01-02T03:04:05Z",
        "Config": {
            "Cmd": [
                "sh"
            ],
            "Labels": null
        },
        "Size": 4261550,
        "Html": "<b>&</b>"
    }
]
`
	expectOutput(t, res.stdout, want)
}

func TestInspectLooksForContainersThenImages(t *testing.T) {
	d := inspectDaemon(t)

	d.cli().run(t, "inspect", "busybox").expectSuccess(t)

	var paths []string
	for _, r := range d.received() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	if len(paths) != 2 || paths[0] != "GET /containers/busybox/json" || paths[1] != "GET /images/busybox/json" {
		t.Errorf("requests = %v, want the container lookup, then the image", paths)
	}
}

func TestInspectFailures(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStdout string
		wantStderr string
		wantCode   int
	}{
		{
			name:       "unknown object",
			args:       []string{"inspect", "busybox", "nope"},
			wantStdout: "[\n    {\n        \"Id\": \"sha256:1111",
			wantStderr: "Error: No such object: nope\n",
			wantCode:   1,
		},
		{
			name:       "nothing found",
			args:       []string{"inspect", "nope"},
			wantStdout: "[]\n",
			wantStderr: "Error: No such object: nope\n",
			wantCode:   1,
		},
		{
			name:       "typed lookup keeps the daemon's error",
			args:       []string{"inspect", "--type", "image", "web"},
			wantStdout: "[]\n",
			wantStderr: "Error response from daemon: No such image: web\n",
			wantCode:   1,
		},
		{
			name:       "image inspect is typed",
			args:       []string{"image", "inspect", "nope"},
			wantStdout: "[]\n",
			wantStderr: "Error response from daemon: No such image: nope\n",
			wantCode:   1,
		},
		{
			name:       "unknown type",
			args:       []string{"inspect", "--type", "volume", "x"},
			wantStderr: `unknown type: "volume": must be one of "container", "image"` + "\n",
			wantCode:   1,
		},
		{
			name:       "bad template",
			args:       []string{"inspect", "-f", "{{", "busybox"},
			wantStderr: "template parsing error: template: :1: unclosed action\n",
			wantCode:   64,
		},
		{
			name:       "missing field",
			args:       []string{"inspect", "-f", "{{.Nope}}", "busybox"},
			wantStdout: "\n",
			wantStderr: `template parsing error: template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"` + "\n",
			wantCode:   1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := inspectDaemon(t)

			res := d.cli().run(t, tt.args...)

			res.expectExit(t, tt.wantCode, tt.wantStderr)
			if !strings.HasPrefix(res.stdout, tt.wantStdout) {
				t.Errorf("stdout = %q, want it to start with %q", res.stdout, tt.wantStdout)
			}
		})
	}
}

func TestInspectFormat(t *testing.T) {
	tests := []struct {
		name   string
		format string
		want   string
	}{
		{
			name:   "typed fields and the json function",
			format: `{{.ID}} {{json .RepoTags}} {{json .Config}}`,
			want:   `sha256:1111111111111111111111111111111111111111111111111111111111111111 ["busybox:latest"] {"Cmd":["sh"]}` + "\n",
		},
		{
			name:   "fields only the raw JSON has",
			format: `{{.Html}} {{.Size}}`,
			want:   "<b>&</b> 4261550\n",
		},
		{
			name:   "json",
			format: "json",
			want:   "[" + busyboxInspect + "]\n",
		},
		{
			name:   "template functions",
			format: `{{upper (index .RepoTags 0)}} {{join (split "a,b" ",") "+"}} {{title "hello world"}}`,
			want:   "BUSYBOX:LATEST a+b Hello World\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := inspectDaemon(t)

			res := d.cli().run(t, "image", "inspect", "--format", tt.format, "busybox")

			res.expectSuccess(t)
			expectOutput(t, res.stdout, tt.want)
		})
	}
}

func TestInspectContainerSize(t *testing.T) {
	d := inspectDaemon(t)

	res := d.cli().run(t, "inspect", "-s", "--format", "{{.ID}}", "web", "busybox")

	expectOutput(t, res.stdout, "0123456789ab\n"+sha("1")+"\n")
	if got := first(d.received()[0].Query["size"]); got != "1" {
		t.Errorf("container lookup size = %q, want 1", got)
	}
	res.expectExit(t, 0, "WARNING: --size ignored for image\n")
}
