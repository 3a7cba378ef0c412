package cli

import (
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
)

func TestAttachRefusesStoppedContainers(t *testing.T) {
	tests := []struct {
		state string
		want  string
	}{
		{`{"Running":false,"Status":"exited"}`, "You cannot attach to a stopped container, start it first\n"},
		{`{"Running":true,"Paused":true,"Status":"paused"}`, "You cannot attach to a paused container, unpause it first\n"},
		{`{"Running":true,"Restarting":true,"Status":"restarting"}`, "You cannot attach to a restarting container, wait until it is running\n"},
	}
	for _, tt := range tests {
		d := newFakeDaemon(t)
		d.handleWait("POST /containers/web/wait", nil)
		d.handle("GET /containers/web/json", rawJSON(`{"Id":"`+testID+`","Config":{},"State":`+tt.state+`}`))

		res := d.cli().run(t, "attach", "web")

		res.expectExit(t, 1, tt.want)
		expectRoutes(t, d, "POST /containers/web/wait", "GET /containers/web/json")
	}
}

func TestAttachWithoutTTYDemultiplexesAndReturnsTheExitStatus(t *testing.T) {
	d := newFakeDaemon(t)
	exited := make(chan int, 1)
	d.handleWait("POST /containers/web/wait", exited)
	d.handle("GET /containers/web/json", rawJSON(`{"Id":"`+testID+`","Config":{"OpenStdin":true},"State":{"Running":true}}`))
	var stdinSeen string
	d.handleHijack("POST /containers/web/attach", multiplexedStream, func(s hijackSession) {
		stdinSeen = s.readAll()
		s.frame(1, "out\n")
		s.frame(2, "err\n")
		exited <- 4
	})
	cli := d.cli()
	cli.stdin = strings.NewReader("input\n")

	res := cli.run(t, "attach", "--detach-keys", "ctrl-a,x", "web")

	expectOutput(t, res.stdout, "out\n")
	res.expectExit(t, 4, "err\n")
	if stdinSeen != "input\n" {
		t.Errorf("the container read %q", stdinSeen)
	}
	expectRoutes(t, d,
		"POST /containers/web/wait",
		"GET /containers/web/json",
		"POST /containers/web/attach?detachKeys=ctrl-a%2Cx&stderr=1&stdin=1&stdout=1&stream=1",
		"GET /containers/web/json",
	)
}

func TestAttachNoStdin(t *testing.T) {
	d := newFakeDaemon(t)
	exited := make(chan int, 1)
	d.handleWait("POST /containers/web/wait", exited)
	d.handle("GET /containers/web/json", rawJSON(`{"Id":"`+testID+`","Config":{"OpenStdin":true},"State":{"Running":true}}`))
	d.handleHijack("POST /containers/web/attach", multiplexedStream, func(s hijackSession) {
		s.readAll()
		exited <- 0
	})

	d.cli().run(t, "attach", "--no-stdin", "web").expectSuccess(t)

	if attach := d.requestsTo("POST /containers/web/attach"); len(attach) != 1 || attach[0].Query["stdin"] != nil {
		t.Errorf("attach = %v, want stdin not attached", attach)
	}
}

func TestAttachProxiesSignalsWithoutTTY(t *testing.T) {
	d := newFakeDaemon(t)
	exited := make(chan int, 1)
	d.handleWait("POST /containers/web/wait", exited)
	d.handle("GET /containers/web/json", rawJSON(`{"Id":"`+testID+`","Config":{},"State":{"Running":true}}`))
	d.answerStatus("POST /containers/web/kill", http.StatusNoContent)
	signals := newFakeSignals()
	d.handleHijack("POST /containers/web/attach", multiplexedStream, func(s hijackSession) {
		signals.send(syscall.SIGHUP)
		signals.send(syscall.SIGCHLD) // never forwarded
		signals.send(syscall.SIGUSR1)
		eventually(t, "the forwarded signals", func() bool { return len(d.requestsTo("POST /containers/web/kill")) == 2 })
		exited <- 0
	})
	cli := d.cli()

	res := cli.runWithSignals(t, signals, "attach", "web")

	res.expectSuccess(t)
	var forwarded []string
	for _, r := range d.requestsTo("POST /containers/web/kill") {
		forwarded = append(forwarded, first(r.Query["signal"]))
	}
	if strings.Join(forwarded, ",") != "HUP,USR1" {
		t.Errorf("forwarded signals = %v, want HUP,USR1", forwarded)
	}
}

func TestStartAttachedWithoutTTY(t *testing.T) {
	d := newFakeDaemon(t)
	d.handle("GET /containers/job/json", rawJSON(`{"Id":"`+testID+`","Config":{"OpenStdin":true},"HostConfig":{"AutoRemove":true},"State":{"Running":false}}`))
	exited := make(chan int, 1)
	var stdinSeen string
	d.handleHijack("POST /containers/"+testID+"/attach", multiplexedStream, func(s hijackSession) {
		stdinSeen = s.readAll()
		s.frame(1, "done\n")
		exited <- 2
	})
	d.handleWait("POST /containers/"+testID+"/wait", exited)
	d.answerStatus("POST /containers/"+testID+"/start", http.StatusNoContent)
	cli := d.cli()
	cli.stdin = strings.NewReader("data")

	res := cli.run(t, "container", "start", "-ai", "job")

	expectOutput(t, res.stdout, "done\n")
	res.expectExit(t, 2, "")
	if stdinSeen != "data" {
		t.Errorf("the container read %q", stdinSeen)
	}
	expectRoutes(t, d,
		"GET /containers/job/json",
		"POST /containers/"+testID+"/attach?stderr=1&stdin=1&stdout=1&stream=1",
		"POST /containers/"+testID+"/wait?condition=removed",
		"POST /containers/"+testID+"/start",
	)
}

func TestStartAttachedRefusesSeveralContainers(t *testing.T) {
	res := testCLI{}.run(t, "start", "-a", "x", "y")
	res.expectExit(t, 1, "you cannot start and attach multiple containers at once\n")
}

func TestParseDetachKeys(t *testing.T) {
	tests := []struct {
		keys    string
		want    string
		wantErr string
	}{
		{keys: "ctrl-p,ctrl-q", want: "\x10\x11"},
		{keys: "ctrl-a,x", want: "\x01x"},
		{keys: "ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", want: "\x00\x1b\x1c\x1d\x1e\x1f"},
		{keys: "a,b,DEL", want: "ab\x7f"},
		{keys: "ctrl-zz", wantErr: "Unknown character: 'ctrl-zz'"},
		{keys: "ctrl-1", wantErr: "Unknown character: 'ctrl-1'"},
	}
	for _, tt := range tests {
		got, err := parseDetachKeys(tt.keys)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("parseDetachKeys(%q) error = %v, want %q", tt.keys, err, tt.wantErr)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("parseDetachKeys(%q) = %q, %v; want %q", tt.keys, got, err, tt.want)
		}
	}
}

func TestEscapeProxy(t *testing.T) {
	keys := []byte{16, 17} // ctrl-p, ctrl-q
	tests := []struct {
		name         string
		input        string
		oneByteReads bool
		want         string
		wantDetached bool
	}{
		{name: "plain input", input: "ls\r", want: "ls\r"},
		{name: "detach", input: "ls\r\x10\x11ignored", want: "ls\r", wantDetached: true},
		{name: "detach byte by byte", input: "ab\x10\x11", oneByteReads: true, want: "ab", wantDetached: true},
		{name: "broken sequence", input: "\x10a\x11", want: "\x10a\x11"},
		{name: "broken sequence byte by byte", input: "\x10a", oneByteReads: true, want: "\x10a"},
		// As moby's proxy: the byte breaking a sequence does not start one.
		{name: "ctrl-p twice", input: "\x10\x10\x11", want: "\x10\x10\x11"},
		{name: "held back at EOF", input: "x\x10", want: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(tt.input)
			if tt.oneByteReads {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(&escapeProxy{r: r, keys: keys})
			if string(got) != tt.want {
				t.Errorf("read %q, want %q", got, tt.want)
			}
			if detached := err == errDetached; detached != tt.wantDetached || (!detached && err != nil) {
				t.Errorf("error = %v, want detached %v", err, tt.wantDetached)
			}
		})
	}
}
