package cli

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// sampleContainers covers the rows of `ps`: a running container with
// published ports, an exited one known by image ID and reached by a link,
// and one only created.
func sampleContainers() []container.Summary {
	web := container.Summary{
		ID:      strings.Repeat("1", 64),
		Names:   []string{"/web"},
		Image:   "nginx:latest",
		ImageID: sha("e"),
		Command: "/docker-entrypoint.sh nginx -g 'daemon off;'",
		Created: ago(2 * time.Hour),
		Ports: []container.PortSummary{
			{IP: netip.MustParseAddr("0.0.0.0"), PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
			{IP: netip.MustParseAddr("::"), PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
			{PrivatePort: 443, Type: "tcp"},
			{IP: netip.MustParseAddr("127.0.0.1"), PrivatePort: 53, PublicPort: 5353, Type: "udp"},
		},
		Labels:     map[string]string{"a": "b", "com.example.tier": "front"},
		State:      container.StateRunning,
		Status:     "Up 2 minutes",
		SizeRw:     12345,
		SizeRootFs: 99999999,
		NetworkSettings: &container.NetworkSettingsSummary{
			Networks: map[string]*network.EndpointSettings{"bridge": {}, "back": {}},
		},
		Mounts: []container.MountPoint{{Type: "volume", Name: "data", Driver: "local", Destination: "/data"}},
	}
	job := container.Summary{
		ID:      strings.Repeat("2", 64),
		Names:   []string{"/job", "/web/link"},
		Image:   sha("f"),
		ImageID: sha("f"),
		Command: "echo hi",
		Created: ago(30 * time.Second),
		Ports:   []container.PortSummary{},
		State:   container.StateExited,
		Status:  "Exited (0) 5 seconds ago",
	}
	created := container.Summary{
		ID:      strings.Repeat("3", 64),
		Names:   []string{"/x"},
		Image:   "busybox",
		Command: "",
		Created: ago(4 * 24 * time.Hour),
		State:   container.StateCreated,
		Status:  "Created",
	}
	return []container.Summary{web, job, created}
}

// The golden tables were printed by the docker 28.2.2 CLI for the same
// containers, except that skiff sorts labels and networks, which docker
// prints in map order.
func TestPsOutput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "table",
			want: `CONTAINER ID   IMAGE          COMMAND                  CREATED          STATUS                     PORTS                                                                      NAMES
111111111111   nginx:latest   "/docker-entrypoint.…"   2 hours ago      Up 2 minutes               443/tcp, 127.0.0.1:5353->53/udp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp   web
222222222222   ffffffffffff   "echo hi"                30 seconds ago   Exited (0) 5 seconds ago                                                                              job
333333333333   busybox        ""                       4 days ago       Created                                                                                               x
`,
		},
		{
			name: "quiet",
			args: []string{"-q"},
			want: "111111111111\n222222222222\n333333333333\n",
		},
		{
			name: "no-trunc",
			args: []string{"--no-trunc", "--format", `table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Names}}`},
			want: `CONTAINER ID                                                       IMAGE                                                                     COMMAND                                          NAMES
1111111111111111111111111111111111111111111111111111111111111111   nginx:latest                                                              "/docker-entrypoint.sh nginx -g 'daemon off;'"   web
2222222222222222222222222222222222222222222222222222222222222222   sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff   "echo hi"                                        job,web/link
3333333333333333333333333333333333333333333333333333333333333333   busybox                                                                   ""                                               x
`,
		},
		{
			name: "size",
			args: []string{"-s", "--format", `table {{.Names}}\t{{.Size}}`},
			want: "NAMES     SIZE\nweb       12.3kB (virtual 100MB)\njob       0B\nx         0B\n",
		},
		{
			name: "template",
			args: []string{"--format", `{{.Names}}|{{.Labels}}|{{.Label "com.example.tier"}}|{{.Mounts}}|{{.LocalVolumes}}|{{.Networks}}|{{.State}}|{{.RunningFor}}|{{.CreatedAt}}`},
			want: "web|a=b,com.example.tier=front|front|data|1|back,bridge|running|2 hours ago|2025-06-01 10:00:00 +0000 UTC\n" +
				"job||||0||exited|30 seconds ago|2025-06-01 11:59:30 +0000 UTC\n" +
				"x||||0||created|4 days ago|2025-05-28 12:00:00 +0000 UTC\n",
		},
		{
			name: "label column title",
			args: []string{"--format", `table {{.ID}}\t{{.Label "com.example.tier"}}`},
			want: "CONTAINER ID   tier\n111111111111   front\n222222222222   \n333333333333   \n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			d.answerJSON("GET /containers/json", http.StatusOK, sampleContainers())

			res := d.cli().run(t, append([]string{"ps"}, tt.args...)...)

			res.expectSuccess(t)
			expectOutput(t, res.stdout, tt.want)
		})
	}
}

func TestPsJSONFormat(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET /containers/json", http.StatusOK, sampleContainers()[:1])

	res := d.cli().run(t, "ps", "--format", "json")

	res.expectSuccess(t)
	want := `{"Command":"\"/docker-entrypoint.…\"","CreatedAt":"2025-06-01 10:00:00 +0000 UTC","ID":"111111111111",` +
		`"Image":"nginx:latest","Labels":"a=b,com.example.tier=front","LocalVolumes":"1","Mounts":"data","Names":"web",` +
		`"Networks":"back,bridge","Platform":null,` +
		`"Ports":"443/tcp, 127.0.0.1:5353-\u003e53/udp, 0.0.0.0:8080-\u003e80/tcp, [::]:8080-\u003e80/tcp",` +
		`"RunningFor":"2 hours ago","Size":"12.3kB (virtual 100MB)","State":"running","Status":"Up 2 minutes"}` + "\n"
	expectOutput(t, res.stdout, want)
}

func TestPsQuery(t *testing.T) {
	tests := []struct {
		args []string
		want string // the query, as the client encodes it
	}{
		{nil, ""},
		{[]string{"-a"}, "all=1"},
		{[]string{"-n", "2"}, "limit=2"},
		{[]string{"-l"}, "limit=1"},
		{[]string{"-n", "3", "-l"}, "limit=3"},
		{[]string{"-s"}, "size=1"},
		{[]string{"--format", "{{.Size}}"}, "size=1"},
		{[]string{"--filter", "status=exited"}, "filters=%7B%22status%22%3A%7B%22exited%22%3Atrue%7D%7D"},
		{
			[]string{"-l", "--filter", "status=exited", "-f", "name=web", "-f", "status=running"},
			"filters=%7B%22name%22%3A%7B%22web%22%3Atrue%7D%2C%22status%22%3A%7B%22exited%22%3Atrue%2C%22running%22%3Atrue%7D%7D&limit=1",
		},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			d := newFakeDaemon(t)
			d.answerJSON("GET /containers/json", http.StatusOK, []container.Summary{})

			d.cli().run(t, append([]string{"ps"}, tt.args...)...).expectSuccess(t)

			want := "GET /containers/json"
			if tt.want != "" {
				want += "?" + tt.want
			}
			expectRoutes(t, d, want)
		})
	}
}

func TestPsQuietWithFormatWarns(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET /containers/json", http.StatusOK, sampleContainers()[:1])

	res := d.cli().run(t, "container", "ls", "-q", "--format", "{{.Names}}")

	res.expectExit(t, 0, "WARNING: Ignoring custom format, because both --format and --quiet are set.\n")
	expectOutput(t, res.stdout, "111111111111\n")
}

func TestDisplayablePorts(t *testing.T) {
	ip := netip.MustParseAddr
	tests := []struct {
		ports []container.PortSummary
		want  string
	}{
		{nil, ""},
		{[]container.PortSummary{{PrivatePort: 80, Type: "tcp"}}, "80/tcp"},
		{[]container.PortSummary{{IP: ip("0.0.0.0"), PrivatePort: 80, PublicPort: 8080, Type: "tcp"}}, "0.0.0.0:8080->80/tcp"},
		{
			// As docker 28.2.2 printed them: ranges of unpublished ports and of
			// ports published as themselves are grouped, per address.
			[]container.PortSummary{
				{IP: ip("0.0.0.0"), PrivatePort: 8000, PublicPort: 8000, Type: "tcp"},
				{IP: ip("0.0.0.0"), PrivatePort: 8001, PublicPort: 8001, Type: "tcp"},
				{IP: ip("::"), PrivatePort: 8000, PublicPort: 8000, Type: "tcp"},
				{IP: ip("::"), PrivatePort: 8001, PublicPort: 8001, Type: "tcp"},
				{PrivatePort: 7000, Type: "tcp"},
				{PrivatePort: 7001, Type: "tcp"},
				{PrivatePort: 7003, Type: "tcp"},
				{PrivatePort: 7001, Type: "udp"},
			},
			"7000-7001/tcp, 7003/tcp, 7001/udp, 0.0.0.0:8000-8001->8000-8001/tcp, [::]:8000-8001->8000-8001/tcp",
		},
	}
	for _, tt := range tests {
		if got := displayablePorts(tt.ports); got != tt.want {
			t.Errorf("displayablePorts(%v) = %q, want %q", tt.ports, got, tt.want)
		}
	}
}
