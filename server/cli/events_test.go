package cli

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
)

var sampleEvents = []events.Message{
	{
		Type: events.ContainerEventType, Action: events.ActionStart,
		Actor: events.Actor{ID: strings.Repeat("1", 64), Attributes: map[string]string{"name": "web", "image": "busybox", "exitCode": "0"}},
		Scope: "local", Time: 1795727978, TimeNano: 1795727978123456789,
	},
	{
		Type: events.ImageEventType, Action: events.ActionTag,
		Actor: events.Actor{ID: sha("2"), Attributes: map[string]string{"name": "x:latest"}},
		Scope: "local", Time: 1795727979, TimeNano: 1795727979000000000,
	},
	{
		Type: events.ContainerEventType, Action: "exec_start: sh -c ls",
		Actor: events.Actor{ID: strings.Repeat("1", 64)},
		Scope: "local", Time: 1795727980,
	},
}

func eventsDaemon(t *testing.T) *fakeDaemon {
	d := newFakeDaemon(t)
	d.handle("GET /events", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for _, e := range sampleEvents {
			_ = jsonLine(w, e)
			_ = http.NewResponseController(w).Flush()
		}
	})
	return d
}

func jsonLine(w http.ResponseWriter, v any) error {
	line, err := jsonString(v)
	if err != nil {
		return err
	}
	_, err = w.Write([]byte(line + "\n"))
	return err
}

// The lines are docker 28.2.2's for the same events.
func TestEventsLineFormat(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "default",
			want: "2026-11-26T21:19:38.123456789Z container start 1111111111111111111111111111111111111111111111111111111111111111 (exitCode=0, image=busybox, name=web)\n" +
				"2026-11-26T21:19:39.000000000Z image tag sha256:2222222222222222222222222222222222222222222222222222222222222222 (name=x:latest)\n" +
				"2026-11-26T21:19:40.000000000Z container exec_start: sh -c ls 1111111111111111111111111111111111111111111111111111111111111111\n",
		},
		{
			name: "template",
			args: []string{"--format", "{{.Action}} {{.Actor.Attributes.name}}"},
			want: "start web\ntag x:latest\nexec_start: sh -c ls <no value>\n",
		},
		{
			name: "json",
			args: []string{"--format", "json"},
			want: `{"Type":"container","Action":"start","Actor":{"ID":"1111111111111111111111111111111111111111111111111111111111111111","Attributes":{"exitCode":"0","image":"busybox","name":"web"}},"scope":"local","time":1795727978,"timeNano":1795727978123456789}` + "\n" +
				`{"Type":"image","Action":"tag","Actor":{"ID":"sha256:2222222222222222222222222222222222222222222222222222222222222222","Attributes":{"name":"x:latest"}},"scope":"local","time":1795727979,"timeNano":1795727979000000000}` + "\n" +
				`{"Type":"container","Action":"exec_start: sh -c ls","Actor":{"ID":"1111111111111111111111111111111111111111111111111111111111111111","Attributes":null},"scope":"local","time":1795727980}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := eventsDaemon(t)

			res := d.cli().run(t, append([]string{"events", "--until", "0s"}, tt.args...)...)

			res.expectSuccess(t)
			expectOutput(t, res.stdout, tt.want)
		})
	}
}

func TestEventsQuery(t *testing.T) {
	d := eventsDaemon(t)

	d.cli().run(t, "events", "--since", "2026-11-26T00:00:00Z", "--until", "2026-11-27T00:00:00Z",
		"-f", "type=container", "-f", "event=start").expectSuccess(t)

	expectRoutes(t, d, "GET /events?filters=%7B%22event%22%3A%7B%22start%22%3Atrue%7D%2C%22type%22%3A%7B%22container%22%3Atrue%7D%7D"+
		"&since=1795651200.000000000&until=1795737600.000000000")
}

func TestPrintEventUsesTheLocalTimeZone(t *testing.T) {
	var b strings.Builder
	zone := time.FixedZone("CET", 3600)
	if err := printEvent(&b, sampleEvents[1], zone); err != nil {
		t.Fatal(err)
	}
	if want := "2026-11-26T22:19:39.000000000+01:00 image tag " + sha("2") + " (name=x:latest)\n"; b.String() != want {
		t.Errorf("line = %q, want %q", b.String(), want)
	}
}
