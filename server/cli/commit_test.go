package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func TestCommit(t *testing.T) {
	tests := []struct {
		args      []string
		wantQuery string
	}{
		{[]string{"web"}, "container=web"},
		{
			[]string{"-a", "me", "-m", "msg", "-c", `CMD ["sh"]`, "-c", "ENV A=1", "--pause=false", "web", "myimg:v1"},
			"author=me&changes=CMD+%5B%22sh%22%5D&changes=ENV+A%3D1&comment=msg&container=web&pause=0&repo=docker.io%2Flibrary%2Fmyimg&tag=v1",
		},
	}
	for _, tt := range tests {
		d := newFakeDaemon(t)
		d.answerJSON("POST /commit", http.StatusCreated, map[string]string{"Id": sha("c")})

		res := d.cli().run(t, append([]string{"commit"}, tt.args...)...)

		res.expectSuccess(t)
		expectOutput(t, res.stdout, sha("c")+"\n")
		expectRoutes(t, d, "POST /commit?"+tt.wantQuery)
	}
}

func TestDiff(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET /containers/web/changes", http.StatusOK, []map[string]any{
		{"Kind": 0, "Path": "/etc"}, {"Kind": 1, "Path": "/etc/new"}, {"Kind": 2, "Path": "/tmp/gone"},
	})

	res := d.cli().run(t, "container", "diff", "web")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, "C /etc\nA /etc/new\nD /tmp/gone\n")
}

func exportDaemon(t *testing.T) *fakeDaemon {
	d := newFakeDaemon(t)
	d.handle("GET /containers/web/export", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-tar")
		_, _ = w.Write([]byte("TAR DATA"))
	})
	d.answerError("GET /containers/nope/export", http.StatusNotFound, "No such container: nope")
	return d
}

func TestExport(t *testing.T) {
	d := exportDaemon(t)

	res := d.cli().run(t, "export", "web")
	res.expectSuccess(t)
	expectOutput(t, res.stdout, "TAR DATA")

	cli := d.cli()
	cli.stdoutIsTerminal = true
	cli.run(t, "export", "web").expectExit(t, 1, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n")

	out := filepath.Join(t.TempDir(), "web.tar")
	cli.run(t, "export", "-o", out, "web").expectSuccess(t)
	if data, err := os.ReadFile(out); err != nil || string(data) != "TAR DATA" {
		t.Errorf("exported file = %q, %v", data, err)
	}
}

func TestExportFailureLeavesNoFile(t *testing.T) {
	d := exportDaemon(t)
	dir := t.TempDir()

	res := d.cli().run(t, "export", "-o", filepath.Join(dir, "x.tar"), "nope")

	res.expectExit(t, 1, "Error response from daemon: No such container: nope\n")
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("export left %v behind", entries)
	}
}
