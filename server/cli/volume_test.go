package cli

import (
	"net/http"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/volume"
)

func volumeDaemon(t *testing.T) *fakeDaemon {
	d := newFakeDaemon(t)
	d.answerJSON("GET /volumes", http.StatusOK, volume.ListResponse{Volumes: []volume.Volume{
		{Name: "data10", Driver: "local", Scope: "local", Labels: map[string]string{"a": "b"}},
		{Name: "data9", Driver: "local", Scope: "local"},
		{Name: strings.Repeat("f", 64), Driver: "local", Scope: "local"},
	}})
	d.answerJSON("POST /volumes/create", http.StatusCreated, volume.Volume{Name: "myvol", Driver: "local"})
	d.handle("GET /volumes/data", rawJSON(`{"Name":"data","Driver":"local","Mountpoint":"/var/lib/skiff/volumes/data/_data","Labels":{"a":"b"},"Scope":"local","CreatedAt":"2026-11-26T10:00:00Z","Options":null}`))
	d.answerStatus("DELETE /volumes/data", http.StatusNoContent)
	d.answerError("DELETE /volumes/busy", http.StatusConflict, "remove busy: volume is in use - [abc]")
	return d
}

func TestVolumeLs(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "DRIVER    VOLUME NAME\nlocal     data9\nlocal     data10\nlocal     " + strings.Repeat("f", 64) + "\n"},
		{[]string{"-q"}, "data9\ndata10\n" + strings.Repeat("f", 64) + "\n"},
		{[]string{"--format", "{{.Name}} {{.Labels}} {{.Label \"a\"}}"}, "data9  \ndata10 a=b b\n" + strings.Repeat("f", 64) + "  \n"},
	}
	for _, tt := range tests {
		d := volumeDaemon(t)
		res := d.cli().run(t, append([]string{"volume", "ls"}, tt.args...)...)
		res.expectSuccess(t)
		expectOutput(t, res.stdout, tt.want)
	}
}

func TestVolumeCreate(t *testing.T) {
	d := volumeDaemon(t)

	res := d.cli().run(t, "volume", "create", "-o", "type=tmpfs", "--label", "k=v", "myvol")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, "myvol\n")
	expectJSONBody(t, d.lastRequest(t).Body, `{"Name":"myvol","Driver":"local","DriverOpts":{"type":"tmpfs"},"Labels":{"k":"v"}}`)
}

func TestVolumeRm(t *testing.T) {
	d := volumeDaemon(t)

	res := d.cli().run(t, "volume", "rm", "-f", "data", "busy")

	expectOutput(t, res.stdout, "data\n")
	res.expectExit(t, 1, "Error response from daemon: remove busy: volume is in use - [abc]\n")
	expectRoutes(t, d, "DELETE /volumes/data?force=1", "DELETE /volumes/busy?force=1")
}

// The output is docker 28.2.2's for the same volume: the typed volume
// re-encoded, fields in the API's (alphabetical) order.
func TestVolumeInspect(t *testing.T) {
	d := volumeDaemon(t)

	res := d.cli().run(t, "volume", "inspect", "data")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, `[
    {
        "CreatedAt": "2026-11-26T10:00:00Z",
        "Driver": "local",
        "Labels": {
            "a": "b"
        },
        "Mountpoint": "/var/lib/skiff/volumes/data/_data",
        "Name": "data",
        "Options": null,
        "Scope": "local"
    }
]
`)
	res = d.cli().run(t, "volume", "inspect", "--format", "{{.Name}}:{{.Labels.a}}", "data")
	res.expectSuccess(t)
	expectOutput(t, res.stdout, "data:b\n")
}
