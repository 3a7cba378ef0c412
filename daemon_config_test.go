package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/server/daemonconfig"
)

// writeDaemonJSON writes a daemon.json in a directory of the test's own.
func writeDaemonJSON(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigFileRegistriesShowInInfo(t *testing.T) {
	path := writeDaemonJSON(t, `{
		"insecure-registries": ["registry.lan:5000", "10.1.0.0/16"],
		"registry-mirrors": ["https://mirror.example.com"],
		"max-concurrent-downloads": 4
	}`)
	d := startSkiffd(t, "", "--config", path, "--max-concurrent-uploads", "7")
	want := ` Insecure Registries:
  registry.lan:5000
  10.1.0.0/16
  127.0.0.0/8
 Registry Mirrors:
  https://mirror.example.com/
`
	for cli, info := range map[string]func(...string) result{"docker": d.docker, "skiff": d.skiff} {
		if out := mustSucceed(t, cli+" info", info("info")); !strings.Contains(out, want) {
			t.Errorf("%s info printed\n%s\nwant it to hold\n%s", cli, out, want)
		}
	}
	format := `{{range .RegistryConfig.InsecureRegistryCIDRs}}{{.}} {{end}}{{.IndexServerAddress}}`
	if out := mustSucceed(t, "docker info --format", d.docker("info", "--format", format)); out != "10.1.0.0/16 127.0.0.0/8 https://index.docker.io/v1/\n" {
		t.Errorf("docker info --format %s printed %q", format, out)
	}
}

func TestConfigFileRefusals(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		flags []string
		want  string
	}{
		{
			name: "unknown key",
			file: `{"insecure-registries": [], "log-driver": "journald"}`,
			want: "the following directives don't match any configuration option: log-driver",
		},
		{
			name:  "key also given as a flag",
			file:  `{"max-concurrent-downloads": 4, "registry-mirrors": ["https://mirror.example.com"]}`,
			flags: []string{"--max-concurrent-downloads", "2"},
			want:  "the following directives are specified both as a flag and in the configuration file: max-concurrent-downloads: (from flag: 2, from file: 4)",
		},
		{
			name: "mirror with a path",
			file: `{"registry-mirrors": ["https://mirror.example.com/dockerhub"]}`,
			want: `invalid mirror: path, query, or fragment at end of the URI "https://mirror.example.com/dockerhub"`,
		},
		{
			name: "bad CIDR",
			file: `{"insecure-registries": ["10.0.0.0/33"]}`,
			want: `insecure registry 10.0.0.0/33 is not valid: invalid host "10.0.0.0/33"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeDaemonJSON(t, tt.file)
			dir := t.TempDir()
			// No bridge: were the file accepted, the daemon would touch no
			// network of the host before the run timed out.
			args := append([]string{"serve", "--config", path, "--data-root", filepath.Join(dir, "root"),
				"--socket", filepath.Join(dir, "s.sock"), "--listen", "", "--bridge", ""}, tt.flags...)
			r := run(t, []string{"SKIFF_TEST_MAIN=1"}, nil, os.Args[0], args...)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("skiff serve: exit %d, stderr %q\nwant exit 1 and %q", r.code, r.stderr, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "root")); err == nil {
				t.Errorf("skiff serve refused its configuration after creating its data root")
			}
		})
	}
}

// TestConfigKeysAreServeFlags applies a daemon.json holding every key to
// serve's own flags: each must exist and take the file's value.
func TestConfigKeysAreServeFlags(t *testing.T) {
	samples := map[string]struct{ json, flag, want string }{
		"insecure-registries":      {`["registry.lan:5000"]`, "insecure-registry", "[registry.lan:5000]"},
		"registry-mirrors":         {`["https://mirror.example.com"]`, "registry-mirror", "[https://mirror.example.com]"},
		"max-concurrent-downloads": {`1`, "max-concurrent-downloads", "1"},
		"max-concurrent-uploads":   {`2`, "max-concurrent-uploads", "2"},
		"data-root":                {`"/srv/skiff"`, "data-root", "/srv/skiff"},
		"bridge":                   {`"br9"`, "bridge", "br9"},
		"debug":                    {`true`, "debug", "true"},
	}
	var entries []string
	for _, key := range daemonconfig.Keys() {
		sample, ok := samples[key]
		if !ok {
			t.Fatalf("no sample value for daemon.json key %s", key)
		}
		entries = append(entries, fmt.Sprintf("%q: %s", key, sample.json))
	}
	flags := newServeCommand().Flags()
	if err := daemonconfig.Apply([]byte("{"+strings.Join(entries, ", ")+"}"), flags); err != nil {
		t.Fatalf("a daemon.json with every key: %v", err)
	}
	for key, sample := range samples {
		if got := flags.Lookup(sample.flag).Value.String(); got != sample.want {
			t.Errorf("%s: --%s = %s after the file, want %s", key, sample.flag, got, sample.want)
		}
	}
}
