package cli

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/image"
	"github.com/spf13/cobra"

	"github.com/skiff-dev/skiff/server/wire"
)

func TestVersionFlagPrintsSkiffVersion(t *testing.T) {
	for _, flag := range []string{"--version", "-v"} {
		res := testCLI{}.run(t, flag)
		res.expectSuccess(t)
		expectOutput(t, res.stdout, "skiff version 1.2.3\n")
	}
}

func TestDaemonErrorIsOneLineOnStderrWithExitCode1(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerError("GET /images/x/history", http.StatusNotFound, "No such image: x:latest")

	res := d.cli().run(t, "history", "x")

	res.expectExit(t, 1, "Error response from daemon: No such image: x:latest\n")
	expectOutput(t, res.stdout, "")
}

func TestRequestsUseTheNegotiatedAPIVersion(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET /images/json", http.StatusOK, []image.Summary{})

	d.cli().run(t, "images").expectSuccess(t)

	if url := d.lastRequest(t).URL; !strings.HasPrefix(url, "/v1.50/images/json") {
		t.Errorf("request URL = %s, want the /v1.50 API skiff's daemon speaks", url)
	}
	// Named, not negotiated: no /_ping comes first.
	if pings := d.requestsTo("HEAD /_ping"); len(pings) != 0 {
		t.Errorf("the CLI pinged the daemon first: %v", pings)
	}
	// An older daemon's version, named by DOCKER_API_VERSION.
	d.cli().withEnv("DOCKER_API_VERSION", "1.41").run(t, "images").expectSuccess(t)
	if url := d.lastRequest(t).URL; !strings.HasPrefix(url, "/v1.41/images/json") {
		t.Errorf("with DOCKER_API_VERSION=1.41: request URL = %s", url)
	}
}

func TestTokenIsSentAsBearerHeaderAndNeverInTheURL(t *testing.T) {
	const token = "s3cret-token"
	d := newFakeTCPDaemon(t)
	d.answerJSON("GET /images/json", http.StatusOK, []image.Summary{})
	d.answerJSON("GET "+imageTreePath, http.StatusOK, []wire.ImageTreeNode{})
	cli := d.cli().withEnv(envToken, token)

	cli.run(t, "images").expectSuccess(t)
	cli.run(t, "images", "--tree").expectSuccess(t)

	requests := d.allReceived()
	if len(requests) < 2 {
		t.Fatalf("got %d requests, want the list and the tree", len(requests))
	}
	for _, r := range requests {
		if got := r.Header.Get("Authorization"); got != "Bearer "+token {
			t.Errorf("%s %s: Authorization = %q, want the bearer token", r.Method, r.URL, got)
		}
		if strings.Contains(r.URL, token) {
			t.Errorf("%s %s: the token leaked into the URL", r.Method, r.URL)
		}
	}
}

func TestNoAuthorizationHeaderWithoutToken(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET /images/json", http.StatusOK, []image.Summary{})

	d.cli().run(t, "images").expectSuccess(t)

	for _, r := range d.allReceived() {
		if got := r.Header.Get("Authorization"); got != "" {
			t.Errorf("%s %s: unexpected Authorization %q", r.Method, r.URL, got)
		}
	}
}

func TestHostFlagOverridesEnvironment(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET /images/json", http.StatusOK, []image.Summary{})
	cli := testCLI{env: map[string]string{envHost: "unix:///nonexistent/skiff.sock"}}

	cli.run(t, "-H", d.host, "images").expectSuccess(t)
	cli.run(t, "--host="+d.host, "image", "ls").expectSuccess(t)

	if n := len(d.received()); n != 2 {
		t.Errorf("daemon got %d listings, want 2", n)
	}
}

func TestUnreachableDaemon(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"typed client", []string{"images"}},
		{"raw request", []string{"images", "--tree"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli := testCLI{env: map[string]string{envHost: "unix:///nonexistent/skiff.sock"}}
			cli.run(t, tt.args...).expectExit(t, 1,
				"Cannot connect to the skiff daemon at unix:///nonexistent/skiff.sock. Is the skiff daemon running?\n")
		})
	}
}

func TestInvalidHost(t *testing.T) {
	for _, host := range []string{"http://localhost:7777", "tcp://127.0.0.1", "unix://", "/run/skiff.sock"} {
		t.Run(host, func(t *testing.T) {
			res := testCLI{}.run(t, "-H", host, "images")
			res.expectExit(t, 1, `invalid daemon host "`+host+`": use unix:///path/to/socket or tcp://host:port`+"\n")
		})
	}
}

func TestBadUsage(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{
			args: []string{"rmi"},
			code: 1,
			stderr: "skiff: 'skiff rmi' requires at least 1 argument\n\n" +
				"Usage:  skiff rmi [OPTIONS] IMAGE [IMAGE...]\n\n" +
				"See 'skiff rmi --help' for more information\n",
		},
		{
			args: []string{"history"},
			code: 1,
			stderr: "skiff: 'skiff history' requires 1 argument\n\n" +
				"Usage:  skiff history [OPTIONS] IMAGE\n\n" +
				"Run 'skiff history --help' for more information\n",
		},
		{
			args: []string{"images", "a", "b"},
			code: 1,
			stderr: "skiff: 'skiff images' requires at most 1 argument\n\n" +
				"Usage:  skiff images [OPTIONS] [REPOSITORY[:TAG]]\n\n" +
				"Run 'skiff images --help' for more information\n",
		},
		{
			args: []string{"image", "ls", "a", "b"},
			code: 1,
			stderr: "skiff: 'skiff image ls' requires at most 1 argument\n\n" +
				"Usage:  skiff image ls [OPTIONS] [REPOSITORY[:TAG]]\n\n" +
				"Run 'skiff image ls --help' for more information\n",
		},
		{
			args: []string{"load", "x"},
			code: 1,
			stderr: "skiff: 'skiff load' accepts no arguments\n\n" +
				"Usage:  skiff load [OPTIONS]\n\n" +
				"Run 'skiff load --help' for more information\n",
		},
		{
			args:   []string{"bogus"},
			code:   1,
			stderr: "skiff: unknown command: skiff bogus\n\nRun 'skiff --help' for more information\n",
		},
		{
			args: []string{"image", "bogus"},
			code: 1,
			stderr: "skiff: unknown command: skiff image bogus\n\n" +
				"Usage:  skiff image\n\n" +
				"Run 'skiff image --help' for more information\n",
		},
		{
			args: []string{"images", "--bogus"},
			code: 125,
			stderr: "unknown flag: --bogus\n\n" +
				"Usage:  skiff images [OPTIONS] [REPOSITORY[:TAG]]\n\n" +
				"Run 'skiff images --help' for more information\n",
		},
		{
			args: []string{"images", "-f", "dangling"},
			code: 125,
			stderr: `invalid argument "dangling" for "-f, --filter" flag: bad format of filter (expected name=value)` + "\n\n" +
				"Usage:  skiff images [OPTIONS] [REPOSITORY[:TAG]]\n\n" +
				"Run 'skiff images --help' for more information\n",
		},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			res := testCLI{}.run(t, tt.args...)
			res.expectExit(t, tt.code, tt.stderr)
			expectOutput(t, res.stdout, "")
		})
	}
}

func TestGroupWithoutSubcommandPrintsHelp(t *testing.T) {
	res := testCLI{}.run(t, "image")
	res.expectSuccess(t)
	for _, sub := range []string{"ls", "import", "load", "save", "tag", "rm", "history", "inspect"} {
		if !strings.Contains(res.stdout, "\n  "+sub+" ") {
			t.Errorf("help of `skiff image` does not list %q:\n%s", sub, res.stdout)
		}
	}
}

func TestImageGroupAliases(t *testing.T) {
	root := newRootCommand(&cliContext{getenv: func(string) string { return "" }})
	for _, path := range [][]string{
		{"image", "ls"}, {"image", "list"}, {"image", "rm"}, {"image", "rmi"}, {"image", "remove"},
		{"image", "import"}, {"image", "load"}, {"image", "save"}, {"image", "tag"},
		{"image", "history"}, {"image", "inspect"},
	} {
		cmd, _, err := root.Find(path)
		if err != nil || cmd.Parent() == nil || cmd.Parent().Name() != "image" {
			t.Errorf("skiff %s: not found under `image` (err %v)", strings.Join(path, " "), err)
		}
	}
}

func TestExtraCommandsAreAdded(t *testing.T) {
	ran := false
	serve := &cobra.Command{Use: "serve", RunE: func(*cobra.Command, []string) error {
		ran = true
		return nil
	}}
	root := newRootCommand(&cliContext{getenv: func(string) string { return "" }}, serve)
	root.SetArgs([]string{"serve"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !ran {
		t.Error("the extra serve command did not run")
	}
}

func TestNewRootUsesEnvironmentHost(t *testing.T) {
	t.Setenv(envHost, "tcp://127.0.0.1:7777")
	root := NewRoot("1.2.3")
	if got := root.Flags().Lookup("host").DefValue; got != "tcp://127.0.0.1:7777" {
		t.Errorf("default host = %q, want SKIFF_HOST", got)
	}
	t.Setenv(envHost, "")
	if got := NewRoot("1.2.3").Flags().Lookup("host").DefValue; got != defaultHost {
		t.Errorf("default host = %q, want %q", got, defaultHost)
	}
}

func TestInterruptCancelsTheRequestAndExits130(t *testing.T) {
	d := newFakeDaemon(t)
	requested := make(chan struct{})
	d.handle("GET /images/json", func(w http.ResponseWriter, r *http.Request) {
		close(requested)
		<-r.Context().Done()
	})
	ctx, interrupt := context.WithCancel(t.Context())
	go func() {
		<-requested
		interrupt()
	}()

	res := d.cli().runContext(ctx, "images")

	res.expectExit(t, exitInterrupted, "")
}

func TestTopLevelNamesTheirCommands(t *testing.T) {
	cc := &cliContext{getenv: func(string) string { return "" }}
	for _, c := range topLevel {
		if got := c.build(cc).Name(); got != c.name {
			t.Errorf("topLevel entry %q builds the command %q", c.name, got)
		}
	}
}

func TestCommandNamed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--rm", "busybox", "true"}, "run"},
		{[]string{"-H", "unix:///x.sock", "ps", "-a"}, "ps"},
		{[]string{"--host", "unix:///x.sock", "rm", "box"}, "rm"},
		{[]string{"--host=unix:///x.sock", "images"}, "images"},
		{[]string{"-Hunix:///x.sock", "start", "-i", "box"}, "start"},
		{[]string{"image", "ls"}, "image"},
		{[]string{"--help"}, ""},
		{[]string{"-v"}, ""},
		{[]string{"help", "run"}, ""},
		{[]string{"serve"}, ""},
		{[]string{"nosuch"}, ""},
		{[]string{"-H"}, ""},
		{nil, ""},
	} {
		if got := commandNamed(tc.args); got != tc.want {
			t.Errorf("commandNamed(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestACommandLineBuildsOnlyItsCommand(t *testing.T) {
	cc := &cliContext{getenv: func(string) string { return "" }}
	root := newRootCommandFor(cc, "run")
	var names []string
	for _, c := range root.Commands() {
		if c.Name() != "help" && c.Name() != "completion" {
			names = append(names, c.Name())
		}
	}
	if len(names) != 1 || names[0] != "run" {
		t.Errorf("the tree of `skiff run` has the commands %v", names)
	}
	// Help and unknown commands still see them all.
	res := testCLI{}.run(t, "--help")
	res.expectSuccess(t)
	for _, name := range []string{"run", "ps", "images", "build"} {
		if !strings.Contains(res.stdout, "\n  "+name+" ") {
			t.Errorf("skiff --help does not list %q", name)
		}
	}
}
