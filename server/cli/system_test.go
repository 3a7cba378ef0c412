package cli

import (
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/system"
	"github.com/skiff-dev/skiff/server/wire"
)

func sampleServerVersion() system.VersionResponse {
	return system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "Skiff Engine"},
		Version:       "0.1.0",
		APIVersion:    "1.50",
		MinAPIVersion: "1.24",
		GitCommit:     "abc1234",
		GoVersion:     "go1.26.8",
		Os:            "linux",
		Arch:          "amd64",
		KernelVersion: "6.1.0-18-amd64",
		BuildTime:     "2025-01-02T03:04:05.000000000+00:00",
	}
}

// clientVersionLines are the first lines of `skiff version`, which depend
// on how the test binary was built.
func clientVersionLines(apiVersion string) string {
	info := newClientVersion("", "") // for the build details only
	var b strings.Builder
	b.WriteString("Client:\n")
	b.WriteString(" Version:           1.2.3\n")
	b.WriteString(" API version:       " + apiVersion + "\n")
	b.WriteString(" Go version:        " + runtime.Version() + "\n")
	if info.GitCommit != "" {
		b.WriteString(" Git commit:        " + info.GitCommit + "\n")
	}
	if info.BuildTime != "" {
		b.WriteString(" Built:             " + info.BuildTime + "\n")
	}
	b.WriteString(" OS/Arch:           " + runtime.GOOS + "/" + runtime.GOARCH + "\n")
	return b.String()
}

func TestVersion(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET /version", http.StatusOK, sampleServerVersion())

	res := d.cli().run(t, "version")

	res.expectSuccess(t)
	want := clientVersionLines(wire.APIVersion) + `
Server: Skiff Engine
 Engine:
  Version:          0.1.0
  API version:      1.50 (minimum version 1.24)
  Go version:       go1.26.8
  Git commit:       abc1234
  Built:            Thu Jan  2 03:04:05 2025
  OS/Arch:          linux/amd64
  Kernel Version:   6.1.0-18-amd64
  Experimental:     false
`
	expectOutput(t, res.stdout, want)
}

func TestVersionWithComponents(t *testing.T) {
	v := sampleServerVersion()
	v.Components = []system.ComponentVersion{
		{Name: "Engine", Version: "0.2.0", Details: map[string]string{
			"ApiVersion": "1.50", "MinAPIVersion": "1.40", "GoVersion": "go1.26.8", "GitCommit": "def5678",
			"BuildTime": "2025-02-03T04:05:06Z", "Os": "linux", "Arch": "arm64", "Experimental": "true",
		}},
		{Name: "runc", Version: "1.2.0", Details: map[string]string{"GitCommit": "v1.2.0-0-g1", "Arch": "x"}},
	}
	d := newFakeDaemon(t)
	d.answerJSON("GET /version", http.StatusOK, v)

	res := d.cli().run(t, "version")

	res.expectSuccess(t)
	_, server, _ := strings.Cut(res.stdout, "\n\n")
	want := `Server: Skiff Engine
 Engine:
  Version:          0.2.0
  API version:      1.50 (minimum version 1.40)
  Go version:       go1.26.8
  Git commit:       def5678
  Built:            Mon Feb  3 04:05:06 2025
  OS/Arch:          linux/arm64
  Experimental:     true
 runc:
  Version:          1.2.0
  Arch:             x
  GitCommit:        v1.2.0-0-g1
`
	expectOutput(t, server, want)
}

func TestVersionWithUnreachableDaemonPrintsTheClientPart(t *testing.T) {
	cli := testCLI{env: map[string]string{envHost: "unix:///nonexistent/skiff.sock"}}

	res := cli.run(t, "version")

	res.expectExit(t, 1, "Cannot connect to the skiff daemon at unix:///nonexistent/skiff.sock. Is the skiff daemon running?\n")
	expectOutput(t, res.stdout, clientVersionLines(wire.APIVersion))
}

func TestVersionFormat(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET /version", http.StatusOK, sampleServerVersion())

	res := d.cli().run(t, "version", "--format", "{{.Client.Version}} {{.Server.Version}} {{.Server.KernelVersion}}")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, "1.2.3 0.1.0 6.1.0-18-amd64\n")
	d.cli().run(t, "version", "-f", "{{").expectExit(t, 64, "template parsing error: template: :1: unclosed action\n")
}

func sampleInfo() system.Info {
	return system.Info{
		ID:                "ABCD:EFGH",
		Containers:        3,
		ContainersRunning: 1,
		ContainersPaused:  0,
		ContainersStopped: 2,
		Images:            4,
		Driver:            "overlay2",
		ServerVersion:     "0.1.0",
		CgroupDriver:      "systemd",
		CgroupVersion:     "2",
		KernelVersion:     "6.1.0-18-amd64",
		OperatingSystem:   "Debian GNU/Linux 12 (bookworm)",
		OSType:            "linux",
		Architecture:      "x86_64",
		NCPU:              2,
		MemTotal:          24 << 30,
		Name:              "builder",
		DockerRootDir:     "/var/lib/skiff",
		Warnings:          []string{"WARNING: no swap limit support"},
	}
}

func TestInfo(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET /info", http.StatusOK, sampleInfo())

	res := d.cli().run(t, "info")

	res.expectExit(t, 0, "WARNING: no swap limit support\n")
	want := `Client:
 Version:    1.2.3

Server:
 Containers: 3
  Running: 1
  Paused: 0
  Stopped: 2
 Images: 4
 Server Version: 0.1.0
 Storage Driver: overlay2
 Cgroup Driver: systemd
 Cgroup Version: 2
 Kernel Version: 6.1.0-18-amd64
 Operating System: Debian GNU/Linux 12 (bookworm)
 OSType: linux
 Architecture: x86_64
 CPUs: 2
 Total Memory: 24GiB
 Name: builder
 ID: ABCD:EFGH
 Docker Root Dir: /var/lib/skiff
 Debug Mode: false

`
	expectOutput(t, res.stdout, want)
}

func TestInfoErrors(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerError("GET /info", http.StatusInternalServerError, "database is locked")

	res := d.cli().run(t, "info")

	res.expectExit(t, 1, "ERROR: Error response from daemon: database is locked\nerrors pretty printing info\n")
	expectOutput(t, res.stdout, "Client:\n Version:    1.2.3\n\nServer:\n")
}

func TestInfoFormat(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET /info", http.StatusOK, sampleInfo())

	res := d.cli().run(t, "info", "--format", "{{.ServerVersion}} {{.NCPU}}")
	res.expectSuccess(t)
	expectOutput(t, res.stdout, "0.1.0 2\n")

	jsonRes := d.cli().run(t, "info", "--format", "json")
	jsonRes.expectSuccess(t)
	if !strings.HasPrefix(jsonRes.stdout, `{"ID":"ABCD:EFGH","Containers":3,`) {
		t.Errorf("json output = %s", jsonRes.stdout)
	}
}

func TestReformatBuildTime(t *testing.T) {
	for in, want := range map[string]string{
		"2025-01-02T03:04:05.000000000+00:00": "Thu Jan  2 03:04:05 2025",
		"2025-01-02T03:04:05Z":                "Thu Jan  2 03:04:05 2025",
		"yesterday":                           "yesterday",
		"":                                    "",
	} {
		if got := reformatBuildTime(in); got != want {
			t.Errorf("reformatBuildTime(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInfoShowsRegistries(t *testing.T) {
	info := sampleInfo()
	info.RegistryConfig = &registry.ServiceConfig{
		InsecureRegistryCIDRs: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("127.0.0.0/8")},
		IndexConfigs: map[string]*registry.IndexInfo{
			"docker.io":         {Name: "docker.io", Secure: true, Official: true},
			"zz.lan:5000":       {Name: "zz.lan:5000"},
			"registry.lan:5000": {Name: "registry.lan:5000"},
		},
		Mirrors: []string{"https://mirror.example.com/"},
	}
	d := newFakeDaemon(t)
	d.answerJSON("GET /info", http.StatusOK, info)

	res := d.cli().run(t, "info")

	res.expectExit(t, 0, "WARNING: no swap limit support\n")
	want := ` Debug Mode: false
 Insecure Registries:
  registry.lan:5000
  zz.lan:5000
  10.1.0.0/16
  127.0.0.0/8
 Registry Mirrors:
  https://mirror.example.com/

`
	if !strings.HasSuffix(res.stdout, want) {
		t.Errorf("skiff info printed\n%s\nwant it to end with\n%s", res.stdout, want)
	}
}
