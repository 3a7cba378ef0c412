package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// testID is the ID the fake daemon gives the containers it creates.
var testID = strings.Repeat("a", 64)

// The testdata/create-*.json files are the create request bodies the
// docker 28.2.2 CLI sent, captured against a stub daemon, for the command
// lines of the tests using them. The moby API types skiff builds on omit a
// null OnBuild, the only field left out of the comparison.

// runDaemon is a daemon where creating a container succeeds and the
// container's attach session is served by session; the container exits
// with exitCode once the session has ended.
func runDaemon(t *testing.T, contentType string, session func(s hijackSession), exitCode int) *fakeDaemon {
	d := newFakeDaemon(t)
	d.answerJSON("POST /containers/create", http.StatusCreated, map[string]any{"Id": testID, "Warnings": []string{}})
	exited := make(chan int, 1)
	d.handleHijack("POST /containers/"+testID+"/attach", contentType, func(s hijackSession) {
		session(s)
		exited <- exitCode
	})
	d.handleWait("POST /containers/"+testID+"/wait", exited)
	d.answerStatus("POST /containers/"+testID+"/start", http.StatusNoContent)
	d.answerStatus("POST /containers/"+testID+"/resize", http.StatusOK)
	d.answerStatus("POST /containers/"+testID+"/kill", http.StatusNoContent)
	return d
}

func TestRunForegroundSequenceOutputAndExitCode(t *testing.T) {
	var stdinSeen string
	d := runDaemon(t, multiplexedStream, func(s hijackSession) {
		// Without -i the CLI half-closes at once; output must still flow.
		stdinSeen = s.readAll()
		s.frame(1, "hi\n")
		s.frame(2, "oops\n")
		s.frame(1, "bye\n")
	}, 3)

	res := d.cli().run(t, "run", "--rm", "-e", "A=1", "-v", "/h:/c", "-w", "/w", "-u", "1000", "busybox", "echo", "hi")

	expectOutput(t, res.stdout, "hi\nbye\n")
	res.expectExit(t, 3, "oops\n")
	if stdinSeen != "" {
		t.Errorf("the daemon read %q from stdin, want nothing", stdinSeen)
	}
	expectRoutes(t, d,
		"POST /containers/create",
		"POST /containers/"+testID+"/attach?stderr=1&stdout=1&stream=1",
		"POST /containers/"+testID+"/wait?condition=removed",
		"POST /containers/"+testID+"/start",
	)
	expectJSONFile(t, d.requestsTo("POST /containers/create")[0].Body, "testdata/create-run-rm.json", "OnBuild")
}

func TestRunExitStatusZero(t *testing.T) {
	d := runDaemon(t, multiplexedStream, func(s hijackSession) { s.frame(1, "ok\n") }, 0)

	res := d.cli().run(t, "run", "busybox", "true")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, "ok\n")
	if wait := d.requestsTo("POST /containers/" + testID + "/wait"); len(wait) != 1 || first(wait[0].Query["condition"]) != "next-exit" {
		t.Errorf("wait requests = %v, want one with condition=next-exit", wait)
	}
}

func TestRunInteractiveForwardsStdin(t *testing.T) {
	var stdinSeen string
	d := runDaemon(t, multiplexedStream, func(s hijackSession) {
		stdinSeen = s.readAll()
		s.frame(1, strings.ToUpper(stdinSeen))
	}, 0)
	cli := d.cli()
	cli.stdin = strings.NewReader("typed line\n")

	res := cli.run(t, "run", "-i", "busybox", "tr", "a-z", "A-Z")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, "TYPED LINE\n")
	if stdinSeen != "typed line\n" {
		t.Errorf("the daemon read %q from stdin", stdinSeen)
	}
	attach := d.requestsTo("POST /containers/" + testID + "/attach")
	if len(attach) != 1 || !strings.HasSuffix(attach[0].URL, "attach?stderr=1&stdin=1&stdout=1&stream=1") {
		t.Errorf("attach = %v, want stdin attached", attach)
	}
	var body map[string]any
	mustUnmarshal(t, d.requestsTo("POST /containers/create")[0].Body, &body)
	for _, field := range []string{"AttachStdin", "OpenStdin", "StdinOnce"} {
		if body[field] != true {
			t.Errorf("%s = %v, want true", field, body[field])
		}
	}
}

func TestRunDetachedPrintsTheIDAndDoesNotAttach(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("POST /containers/create", http.StatusCreated, map[string]any{
		"Id": testID, "Warnings": []string{"Your kernel does not support swap limit capabilities."},
	})
	d.handleWait("POST /containers/"+testID+"/wait", nil) // never exits
	d.answerStatus("POST /containers/"+testID+"/start", http.StatusNoContent)
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("X=1\n# comment\n  Y\nZ\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	res := d.cli().withEnv("Y", "yv").run(t, "run", "-d", "--name", "web",
		"-p", "8080:80", "-p", "127.0.0.1:53:53/udp", "-p", "9000",
		"-e", "FOO=bar", "--env-file", envFile,
		"-v", "/srv/app:/data:ro", "-v", "data:/d2", "-v", "/anon",
		"-w", "/data", "-u", "1000:1000", "-h", "myhost", "--network", "mynet",
		"--restart", "on-failure:3", "-m", "512m", "--cpus", "1.5", "--pids-limit", "100",
		"--cap-add", "net_admin", "--cap-drop", "ALL", "--privileged",
		"--security-opt", "no-new-privileges", "--entrypoint", "/bin/sh", "-l", "a=b",
		"busybox", "-c", "sleep 100")

	expectOutput(t, res.stdout, testID+"\n")
	res.expectExit(t, 0, "WARNING: Your kernel does not support swap limit capabilities.\n")
	expectRoutes(t, d,
		"POST /containers/create?name=web",
		"POST /containers/"+testID+"/wait?condition=next-exit",
		"POST /containers/"+testID+"/start",
	)
	expectJSONFile(t, d.requestsTo("POST /containers/create")[0].Body, "testdata/create-run-detached.json", "OnBuild")
}

func TestCreatePrintsTheID(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("POST /containers/create", http.StatusCreated, map[string]any{"Id": testID})

	res := d.cli().run(t, "container", "create", "-it", "busybox", "sh")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, testID+"\n")
	expectRoutes(t, d, "POST /containers/create")
	expectJSONFile(t, d.lastRequest(t).Body, "testdata/create-it.json", "OnBuild")
}

func TestRunPullsAMissingImage(t *testing.T) {
	const notImplemented = "pulling images is not implemented yet"
	tests := []struct {
		args       []string
		wantRoutes []string
		wantCode   int
		wantStderr string
	}{
		{
			args:       []string{"run", "busybox", "echo", "hi"},
			wantRoutes: []string{"POST /containers/create", "POST /images/create?fromImage=docker.io%2Flibrary%2Fbusybox&tag=latest"},
			wantCode:   125,
			wantStderr: "Unable to find image 'busybox:latest' locally\n" +
				"skiff: Error response from daemon: " + notImplemented + "\n\n" +
				"Run 'skiff run --help' for more information\n",
		},
		{
			args:       []string{"run", "-d", "myreg:5000/x/y:v2"},
			wantRoutes: []string{"POST /containers/create", "POST /images/create?fromImage=myreg%3A5000%2Fx%2Fy&tag=v2"},
			wantCode:   125,
			wantStderr: "Unable to find image 'myreg:5000/x/y:v2' locally\n" +
				"skiff: Error response from daemon: " + notImplemented + "\n\n" +
				"Run 'skiff run --help' for more information\n",
		},
		{
			args:       []string{"create", "busybox"},
			wantRoutes: []string{"POST /containers/create", "POST /images/create?fromImage=docker.io%2Flibrary%2Fbusybox&tag=latest"},
			wantCode:   1,
			wantStderr: "Unable to find image 'busybox:latest' locally\n" +
				"Error response from daemon: " + notImplemented + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			d := newFakeDaemon(t)
			d.answerError("POST /containers/create", http.StatusNotFound, "No such image: busybox:latest")
			d.answerError("POST /images/create", http.StatusNotImplemented, notImplemented)

			res := d.cli().run(t, tt.args...)

			res.expectExit(t, tt.wantCode, tt.wantStderr)
			expectOutput(t, res.stdout, "")
			expectRoutes(t, d, tt.wantRoutes...)
			if auth := d.lastRequest(t).Header.Get("X-Registry-Auth"); auth != "e30=" {
				t.Errorf("X-Registry-Auth = %q, want the anonymous e30=", auth)
			}
		})
	}
}

func TestRunStartErrorsMapToDockersExitCodes(t *testing.T) {
	tests := []struct {
		message  string
		wantCode int
	}{
		{`failed to create task for container: exec: "nope": executable file not found in $PATH: unknown`, 127},
		{`exec: "/data/x": no such file or directory`, 127},
		{`exec: "/etc": permission denied`, 126},
		{`exec: "/etc": is a directory`, 126},
		{"cgroup setup failed", 125},
	}
	for _, tt := range tests {
		for _, detach := range []bool{false, true} {
			t.Run(tt.message, func(t *testing.T) {
				d := runDaemon(t, multiplexedStream, func(s hijackSession) { s.readAll() }, 0)
				d.answerError("POST /containers/"+testID+"/start", http.StatusInternalServerError, tt.message)
				args := []string{"run", "busybox", "nope"}
				wantStdout := ""
				if detach {
					args = []string{"run", "-d", "busybox", "nope"}
					wantStdout = testID + "\n" // printed before starting, as docker
				}

				res := d.cli().run(t, args...)

				expectOutput(t, res.stdout, wantStdout)
				res.expectExit(t, tt.wantCode, "skiff: Error response from daemon: "+tt.message+"\n\n"+
					"Run 'skiff run --help' for more information\n")
			})
		}
	}
}

func TestRunRefusesTTYWithoutATerminal(t *testing.T) {
	d := newFakeDaemon(t)

	res := d.cli().run(t, "run", "-it", "busybox", "sh")

	res.expectExit(t, 1, "the input device is not a TTY\n")
	expectRoutes(t, d)
}

func TestRunBadOptions(t *testing.T) {
	const (
		runHint   = "\n\nRun 'skiff run --help' for more information\n"
		flagUsage = "\n\nUsage:  skiff run [OPTIONS] IMAGE [COMMAND] [ARG...]" + runHint
	)
	// As docker 28 reports them: option values checked while parsing the
	// flags are flag errors, the others are "skiff: <error>".
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"-p", "80:x"}, "skiff: invalid containerPort: x" + runHint},
		{[]string{"-v", "/a:/b:/c:/d"}, "skiff: invalid spec: /a:/b:/c:/d: too many colons" + runHint},
		{[]string{"--security-opt", "bogus"}, `skiff: Invalid --security-opt: "bogus"` + runHint},
		{[]string{"--restart", "always:x"}, "skiff: invalid restart policy format: maximum retry count must be an integer" + runHint},
		{[]string{"--cpus", "0.0000000001"}, `invalid argument "0.0000000001" for "--cpus" flag: value is too precise` + flagUsage},
		{[]string{"-e", "=x"}, `invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x` + flagUsage},
		{[]string{"-m", "12q"}, `invalid argument "12q" for "-m, --memory" flag: invalid suffix: 'q'` + flagUsage},
		{[]string{"-l", "=x"}, `invalid argument "=x" for "-l, --label" flag: invalid label '=x': empty name` + flagUsage},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			d := newFakeDaemon(t)
			res := d.cli().run(t, append(append([]string{"run"}, tt.args...), "busybox")...)
			res.expectExit(t, 125, tt.stderr)
			expectRoutes(t, d)
		})
	}
}

func TestRunLeavesVolumeAndRestartChecksToTheDaemon(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("POST /containers/create", http.StatusCreated, map[string]any{"Id": testID})

	d.cli().run(t, "create", "-v", "relative", "-v", "a:b", "-v", "./rel:/x", "-v", "/h:/c:rw,z",
		"--restart", "sometimes", "busybox").expectSuccess(t)

	var body struct {
		Volumes    map[string]any
		HostConfig struct {
			Binds         []string
			RestartPolicy struct{ Name string }
		}
	}
	mustUnmarshal(t, d.lastRequest(t).Body, &body)
	wd, _ := os.Getwd()
	if got, want := compactJSON(body.Volumes), `{"a:b":{},"relative":{}}`; got != want {
		t.Errorf("Volumes = %s, want %s", got, want)
	}
	if got, want := strings.Join(body.HostConfig.Binds, " "), filepath.Join(wd, "rel")+":/x /h:/c:rw,z"; got != want {
		t.Errorf("Binds = %s, want %s", got, want)
	}
	if body.HostConfig.RestartPolicy.Name != "sometimes" {
		t.Errorf("RestartPolicy = %+v, want it passed through", body.HostConfig.RestartPolicy)
	}
}

func TestRunPassesFlagsAfterTheImageToTheCommand(t *testing.T) {
	d := runDaemon(t, multiplexedStream, func(s hijackSession) {}, 0)

	d.cli().run(t, "run", "busybox", "ls", "-l", "--rm", "-h").expectSuccess(t)

	var body struct {
		Cmd        []string
		HostConfig struct{ AutoRemove bool }
		Hostname   string
	}
	mustUnmarshal(t, d.requestsTo("POST /containers/create")[0].Body, &body)
	if strings.Join(body.Cmd, " ") != "ls -l --rm -h" || body.HostConfig.AutoRemove || body.Hostname != "" {
		t.Errorf("create body = %+v, want the flags after IMAGE in Cmd", body)
	}
}

func TestEntrypointFlag(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "null"},
		{[]string{"--entrypoint", "/bin/sh"}, `["/bin/sh"]`},
		{[]string{"--entrypoint="}, `[""]`},
	}
	for _, tt := range tests {
		d := newFakeDaemon(t)
		d.answerJSON("POST /containers/create", http.StatusCreated, map[string]any{"Id": testID})
		d.cli().run(t, append(append([]string{"create"}, tt.args...), "busybox")...).expectSuccess(t)
		var body map[string]any
		mustUnmarshal(t, d.lastRequest(t).Body, &body)
		if got := compactJSON(body["Entrypoint"]); got != tt.want {
			t.Errorf("%v: Entrypoint = %s, want %s", tt.args, got, tt.want)
		}
	}
}

func TestRunProxiesSignalsToTheContainer(t *testing.T) {
	signals := newFakeSignals()
	var d *fakeDaemon
	d = runDaemon(t, multiplexedStream, func(s hijackSession) {
		// ctrl-C on a non-TTY run: the CLI forwards SIGINT, the container
		// dies of it. (The proxy is subscribed before the start.)
		eventually(t, "the start", func() bool { return len(d.requestsTo("POST /containers/"+testID+"/start")) == 1 })
		signals.send(syscall.SIGINT)
		eventually(t, "the forwarded SIGINT", func() bool { return len(d.requestsTo("POST /containers/"+testID+"/kill")) == 1 })
	}, 130)

	res := d.cli().runWithSignals(t, signals, "run", "busybox", "sleep", "100")

	res.expectExit(t, 130, "")
	if kill := d.requestsTo("POST /containers/" + testID + "/kill"); first(kill[0].Query["signal"]) != "INT" {
		t.Errorf("kill = %v, want signal=INT", kill[0].URL)
	}
}

func TestRunWithoutSigProxy(t *testing.T) {
	signals := newFakeSignals()
	d := runDaemon(t, multiplexedStream, func(s hijackSession) {
		if signals.subscribed(syscall.SIGINT) {
			t.Error("--sig-proxy=false still subscribes to signals")
		}
	}, 0)

	d.cli().runWithSignals(t, signals, "run", "--sig-proxy=false", "busybox", "true").expectSuccess(t)
}

func TestRunRemovedContainerStartFailureWaitsForRemoval(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("POST /containers/create", http.StatusCreated, map[string]any{"Id": testID})
	d.handleHijack("POST /containers/"+testID+"/attach", multiplexedStream, func(s hijackSession) { s.readAll() })
	removed := make(chan int, 1)
	d.handleWait("POST /containers/"+testID+"/wait", removed)
	d.handle("POST /containers/"+testID+"/start", func(w http.ResponseWriter, _ *http.Request) {
		removed <- 0 // the daemon removes the container that failed to start
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "exec: \"nope\": executable file not found in $PATH"})
	})

	res := d.cli().run(t, "run", "--rm", "busybox", "nope")

	res.expectExit(t, 127, "skiff: Error response from daemon: exec: \"nope\": executable file not found in $PATH\n\n"+
		"Run 'skiff run --help' for more information\n")
}
