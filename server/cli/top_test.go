package cli

import (
	"net/http"
	"testing"

	"github.com/moby/moby/api/types/container"
)

// The table is docker 28.2.2's for the same answer.
func TestTop(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET /containers/web/top", http.StatusOK, container.TopResponse{
		Titles: []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"},
		Processes: [][]string{
			{"root", "1234", "1200", "0", "10:00", "?", "00:00:00", "sleep 100"},
			{"root", "1300", "1234", "0", "10:01", "pts/0", "00:00:00", "sh -c x y"},
		},
	})

	res := d.cli().run(t, "top", "web", "-ef", "-o", "pid")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, `UID                 PID                 PPID                C                   STIME               TTY                 TIME                CMD
root                1234                1200                0                   10:00               ?                   00:00:00            sleep 100
root                1300                1234                0                   10:01               pts/0               00:00:00            sh -c x y
`)
	expectRoutes(t, d, "GET /containers/web/top?ps_args=-ef+-o+pid")
}

// The lines and errors are docker 28.2.2's for the same container.
func TestPort(t *testing.T) {
	tests := []struct {
		args       []string
		wantStdout string
		wantStderr string
		wantCode   int
	}{
		{[]string{"web"}, "53/udp -> 127.0.0.1:5353\n80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n443/tcp -> 0.0.0.0:8443\n", "", 0},
		{[]string{"web", "80"}, "0.0.0.0:8080\n[::]:8080\n", "", 0},
		{[]string{"web", "53/udp"}, "127.0.0.1:5353\n", "", 0},
		{[]string{"web", "80/udp"}, "", "Error: No public port '80/udp' published for web\n", 1},
		{[]string{"web", "9000"}, "", "Error: No public port '9000' published for web\n", 1},
		{[]string{"idle"}, "", "", 0},
	}
	for _, tt := range tests {
		d := newFakeDaemon(t)
		d.handle("GET /containers/web/json", rawJSON(`{"Id":"`+testID+`","NetworkSettings":{"Ports":{`+
			`"80/tcp":[{"HostIp":"::","HostPort":"8080"},{"HostIp":"0.0.0.0","HostPort":"8080"}],`+
			`"443/tcp":[{"HostIp":"0.0.0.0","HostPort":"8443"}],`+
			`"53/udp":[{"HostIp":"127.0.0.1","HostPort":"5353"}],"9000/tcp":null}}}`))
		d.handle("GET /containers/idle/json", rawJSON(`{"Id":"`+testID+`","NetworkSettings":{"Ports":{}}}`))

		res := d.cli().run(t, append([]string{"port"}, tt.args...)...)

		expectOutput(t, res.stdout, tt.wantStdout)
		res.expectExit(t, tt.wantCode, tt.wantStderr)
	}
}

func TestNaturalLess(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"80/tcp", "443/tcp", true},
		{"443/tcp", "80/tcp", false},
		{"a2", "a10", true},
		{"a", "a1", true},
		{"1x", "x", true},
		{"01", "1", false},
		{"1", "01", true},
		{"0.0.0.0:8080", "[::]:8080", true},
	}
	for _, tt := range tests {
		if got := naturalLess(tt.a, tt.b); got != tt.want {
			t.Errorf("naturalLess(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
