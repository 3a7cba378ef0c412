package cli

import (
	"net/http"
	"strings"
	"testing"
)

// lifecycleDaemon knows the container "a", for which everything succeeds,
// and fails for "b" in the ways the daemon does; any other name is missing.
func lifecycleDaemon(t *testing.T) *fakeDaemon {
	d := newFakeDaemon(t)
	for _, route := range []string{"DELETE /containers/a", "POST /containers/a/stop", "POST /containers/a/restart",
		"POST /containers/a/kill", "POST /containers/a/pause", "POST /containers/a/unpause",
		"POST /containers/a/rename", "POST /containers/a/start"} {
		d.answerStatus(route, http.StatusNoContent)
	}
	d.answerError("DELETE /containers/b", http.StatusConflict,
		`cannot remove container "/b": container is running: stop the container before removing or force remove`)
	d.answerError("POST /containers/b/kill", http.StatusConflict, "container bbb is not running")
	d.answerError("POST /containers/b/start", http.StatusInternalServerError, "failed to create task: unknown")
	for _, route := range []string{"DELETE /containers/c", "POST /containers/c/stop", "POST /containers/c/restart",
		"POST /containers/c/pause", "POST /containers/c/rename"} {
		d.answerError(route, http.StatusNotFound, "No such container: c")
	}
	d.answerJSON("POST /containers/a/wait", http.StatusOK, map[string]any{"StatusCode": 7})
	d.answerJSON("POST /containers/z/wait", http.StatusOK, map[string]any{"StatusCode": 0})
	d.answerError("POST /containers/c/wait", http.StatusNotFound, "No such container: c")
	return d
}

// As docker 28.2.2 prints them: the names of the containers acted on, in
// argument order, then the errors; exit status 1 if any failed.
func TestLifecycleCommands(t *testing.T) {
	const (
		noSuchC   = "Error response from daemon: No such container: c\n"
		bRunning  = `Error response from daemon: cannot remove container "/b": container is running: stop the container before removing or force remove` + "\n"
		bNotRunng = "Error response from daemon: container bbb is not running\n"
	)
	tests := []struct {
		args       []string
		wantStdout string
		wantStderr string
		wantCode   int
		wantCalls  []string // in any order
	}{
		{
			args: []string{"rm", "a", "b", "c"}, wantStdout: "a\n", wantStderr: bRunning + noSuchC, wantCode: 1,
			wantCalls: []string{"DELETE /containers/a", "DELETE /containers/b", "DELETE /containers/c"},
		},
		{
			// -f forgives missing containers, but still reports them.
			args: []string{"rm", "-f", "a", "c"}, wantStdout: "a\n", wantStderr: noSuchC,
			wantCalls: []string{"DELETE /containers/a?force=1", "DELETE /containers/c?force=1"},
		},
		{args: []string{"rm", "-fv", "a"}, wantStdout: "a\n", wantCalls: []string{"DELETE /containers/a?force=1&v=1"}},
		{args: []string{"container", "remove", "/a"}, wantStdout: "/a\n", wantCalls: []string{"DELETE /containers/a"}},
		{
			args: []string{"stop", "c", "a"}, wantStdout: "a\n", wantStderr: noSuchC, wantCode: 1,
			wantCalls: []string{"POST /containers/c/stop", "POST /containers/a/stop"},
		},
		{args: []string{"stop", "-t", "5", "-s", "SIGINT", "a"}, wantStdout: "a\n", wantCalls: []string{"POST /containers/a/stop?signal=SIGINT&t=5"}},
		{args: []string{"stop", "-t", "0", "a"}, wantStdout: "a\n", wantCalls: []string{"POST /containers/a/stop?t=0"}},
		{
			args: []string{"kill", "a", "b"}, wantStdout: "a\n", wantStderr: bNotRunng, wantCode: 1,
			wantCalls: []string{"POST /containers/a/kill", "POST /containers/b/kill"},
		},
		{args: []string{"kill", "-s", "HUP", "a"}, wantStdout: "a\n", wantCalls: []string{"POST /containers/a/kill?signal=HUP"}},
		{
			args: []string{"restart", "-t", "3", "a", "c"}, wantStdout: "a\n", wantStderr: noSuchC, wantCode: 1,
			wantCalls: []string{"POST /containers/a/restart?t=3", "POST /containers/c/restart?t=3"},
		},
		{
			args: []string{"pause", "a", "c"}, wantStdout: "a\n", wantStderr: noSuchC, wantCode: 1,
			wantCalls: []string{"POST /containers/a/pause", "POST /containers/c/pause"},
		},
		{args: []string{"unpause", "a"}, wantStdout: "a\n", wantCalls: []string{"POST /containers/a/unpause"}},
		{
			args: []string{"start", "a", "b"}, wantStdout: "a\n", wantCode: 1,
			wantStderr: "Error response from daemon: failed to create task: unknown\nError: failed to start containers: b\n",
			wantCalls:  []string{"POST /containers/a/start", "POST /containers/b/start"},
		},
		{args: []string{"rename", "a", "web"}, wantCalls: []string{"POST /containers/a/rename?name=web"}},
		{
			args: []string{"rename", "c", "web"}, wantCode: 1,
			wantStderr: noSuchC + "Error: failed to rename container named c\n",
			wantCalls:  []string{"POST /containers/c/rename?name=web"},
		},
		{args: []string{"rename", "a", " "}, wantCode: 1, wantStderr: "Error: Neither old nor new names may be empty\n"},
		{
			args: []string{"wait", "a", "c", "z"}, wantStdout: "7\n0\n", wantStderr: noSuchC, wantCode: 1,
			wantCalls: []string{"POST /containers/a/wait", "POST /containers/c/wait", "POST /containers/z/wait"},
		},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			d := lifecycleDaemon(t)

			res := d.cli().run(t, tt.args...)

			expectOutput(t, res.stdout, tt.wantStdout)
			res.expectExit(t, tt.wantCode, tt.wantStderr)
			expectCallsInAnyOrder(t, d, tt.wantCalls...)
		})
	}
}

// expectCallsInAnyOrder compares the requests received with want as sets,
// for commands that act on several containers concurrently.
func expectCallsInAnyOrder(t *testing.T, d *fakeDaemon, want ...string) {
	t.Helper()
	got := map[string]int{}
	for _, call := range d.calls() {
		got[call]++
	}
	for _, call := range want {
		if got[call] == 0 {
			t.Errorf("missing request %s (got %v)", call, d.calls())
		}
		got[call]--
	}
	for call, n := range got {
		if n > 0 {
			t.Errorf("unexpected request %s", call)
		}
	}
}

func TestContainerGroupAliases(t *testing.T) {
	root := newRootCommand(&cliContext{getenv: func(string) string { return "" }})
	for _, sub := range []string{"ls", "ps", "list", "run", "create", "start", "stop", "restart", "kill", "pause",
		"unpause", "rm", "remove", "rename", "wait", "attach", "logs", "exec", "top", "port", "stats", "commit",
		"diff", "export", "inspect"} {
		cmd, _, err := root.Find([]string{"container", sub})
		if err != nil || cmd.Parent() == nil || cmd.Parent().Name() != "container" {
			t.Errorf("skiff container %s: not found under `container` (err %v)", sub, err)
		}
	}
	for _, sub := range []string{"create", "ls", "list", "rm", "remove", "inspect"} {
		cmd, _, err := root.Find([]string{"volume", sub})
		if err != nil || cmd.Parent() == nil || cmd.Parent().Name() != "volume" {
			t.Errorf("skiff volume %s: not found under `volume` (err %v)", sub, err)
		}
	}
}

func TestContainerInspectIsLimitedToContainers(t *testing.T) {
	d := inspectDaemon(t)

	d.cli().run(t, "container", "inspect", "-s", "--format", "{{.Name}}", "web").expectSuccess(t)
	expectRoutes(t, d, "GET /containers/web/json?size=1")

	res := d.cli().run(t, "container", "inspect", "busybox")
	res.expectExit(t, 1, "Error response from daemon: No such container: busybox\n")
}
