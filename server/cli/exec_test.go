package cli

import (
	"net/http"
	"strings"
	"testing"
)

// execDaemon runs execs in the running container "web": the exec's
// session is served by session, and its exit code is exitCode.
func execDaemon(t *testing.T, session func(s hijackSession), exitCode int) *fakeDaemon {
	d := newFakeDaemon(t)
	d.handle("GET /containers/web/json", rawJSON(`{"Id":"`+testID+`","Config":{},"State":{"Running":true}}`))
	d.answerError("GET /containers/nope/json", http.StatusNotFound, "No such container: nope")
	d.answerJSON("POST /containers/web/exec", http.StatusCreated, map[string]string{"Id": "e1"})
	finished := make(chan struct{})
	d.handleHijack("POST /exec/e1/start", multiplexedStream, func(s hijackSession) {
		session(s)
		close(finished)
	})
	d.handle("GET /exec/e1/json", func(w http.ResponseWriter, _ *http.Request) {
		// The CLI asks only once the stream has ended.
		select {
		case <-finished:
			writeJSON(w, http.StatusOK, map[string]any{"ID": "e1", "Running": false, "ExitCode": exitCode})
		default:
			writeJSON(w, http.StatusOK, map[string]any{"ID": "e1", "Running": true, "ExitCode": nil})
		}
	})
	return d
}

func TestExecExitCodeComesFromExecInspect(t *testing.T) {
	var stdinSeen string
	d := execDaemon(t, func(s hijackSession) {
		stdinSeen = s.readAll()
		s.frame(1, "out\n")
		s.frame(2, "err\n")
	}, 42)
	cli := d.cli()
	cli.stdin = strings.NewReader("input")

	res := cli.run(t, "exec", "-i", "-e", "A=1", "--env-file", "/dev/null", "web", "sh", "-c", "exit 42")

	expectOutput(t, res.stdout, "out\n")
	res.expectExit(t, 42, "err\n")
	if stdinSeen != "input" {
		t.Errorf("the exec read %q", stdinSeen)
	}
	expectRoutes(t, d, "GET /containers/web/json", "POST /containers/web/exec", "POST /exec/e1/start", "GET /exec/e1/json")
	expectJSONBody(t, d.requestsTo("POST /containers/web/exec")[0].Body,
		`{"User":"","Privileged":false,"Tty":false,"AttachStdin":true,"AttachStderr":true,"AttachStdout":true,"DetachKeys":"","Env":["A=1"],"WorkingDir":"","Cmd":["sh","-c","exit 42"]}`)
	expectJSONBody(t, d.requestsTo("POST /exec/e1/start")[0].Body, `{"Detach":false,"Tty":false}`)
}

func TestExecSuccess(t *testing.T) {
	d := execDaemon(t, func(s hijackSession) { s.frame(1, "ok\n") }, 0)

	res := d.cli().run(t, "container", "exec", "web", "true")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, "ok\n")
}

func TestExecDetached(t *testing.T) {
	d := newFakeDaemon(t)
	d.handle("GET /containers/web/json", rawJSON(`{"Id":"`+testID+`","State":{"Running":true}}`))
	d.answerJSON("POST /containers/web/exec", http.StatusCreated, map[string]string{"Id": "e1"})
	d.answerStatus("POST /exec/e1/start", http.StatusOK)

	res := d.cli().run(t, "exec", "-d", "web", "sleep", "10")

	res.expectSuccess(t)
	expectRoutes(t, d, "GET /containers/web/json", "POST /containers/web/exec", "POST /exec/e1/start")
	start := d.requestsTo("POST /exec/e1/start")[0]
	expectJSONBody(t, start.Body, `{"Detach":true,"Tty":false}`)
	if start.Header.Get("Upgrade") != "" {
		t.Error("a detached exec start asked for an upgrade")
	}
}

func TestExecMissingContainer(t *testing.T) {
	d := execDaemon(t, func(hijackSession) {}, 0)

	res := d.cli().run(t, "exec", "nope", "ls")

	res.expectExit(t, 1, "Error response from daemon: No such container: nope\n")
	expectRoutes(t, d, "GET /containers/nope/json")
}
