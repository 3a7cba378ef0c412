package daemonconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/skiff-dev/skiff/engine/registry"
)

// serveFlags are the flags the keys stand for, as skiff serve defines them.
type serveFlags struct {
	insecure, mirrors  []string
	downloads, uploads int
	dataRoot, bridge   string
	debug              bool
	flags              *pflag.FlagSet
}

func newServeFlags(t *testing.T, args ...string) *serveFlags {
	t.Helper()
	s := &serveFlags{flags: pflag.NewFlagSet("serve", pflag.ContinueOnError)}
	f := s.flags
	f.StringArrayVar(&s.insecure, "insecure-registry", nil, "")
	f.StringArrayVar(&s.mirrors, "registry-mirror", nil, "")
	f.IntVar(&s.downloads, "max-concurrent-downloads", 3, "")
	f.IntVar(&s.uploads, "max-concurrent-uploads", 5, "")
	f.StringVar(&s.dataRoot, "data-root", "/var/lib/skiff", "")
	f.StringVar(&s.bridge, "bridge", "skiff0", "")
	f.BoolVar(&s.debug, "debug", false, "")
	if err := f.Parse(args); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestApply(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		args    []string
		want    serveFlags // flags aside
		wantErr string
	}{
		{
			name: "every key",
			file: `{"insecure-registries": ["registry.lan:5000", "10.1.0.0/16"], "registry-mirrors": ["https://mirror.example.com"],
				"max-concurrent-downloads": 6, "max-concurrent-uploads": 2, "data-root": "/srv/skiff", "bridge": "br1", "debug": true}`,
			want: serveFlags{insecure: []string{"registry.lan:5000", "10.1.0.0/16"}, mirrors: []string{"https://mirror.example.com"},
				downloads: 6, uploads: 2, dataRoot: "/srv/skiff", bridge: "br1", debug: true},
		},
		{
			name: "flags and file on different keys",
			file: `{"registry-mirrors": ["https://mirror.example.com"]}`,
			args: []string{"--insecure-registry", "registry.lan:5000", "--max-concurrent-downloads", "1"},
			want: serveFlags{insecure: []string{"registry.lan:5000"}, mirrors: []string{"https://mirror.example.com"},
				downloads: 1, uploads: 5, dataRoot: "/var/lib/skiff", bridge: "skiff0"},
		},
		{
			name: "empty file",
			file: `{}`,
			want: serveFlags{downloads: 3, uploads: 5, dataRoot: "/var/lib/skiff", bridge: "skiff0"},
		},
		{
			name:    "unknown keys",
			file:    `{"insecure-registries": [], "registry-mirror": ["https://m.example.com"], "hosts": ["tcp://0.0.0.0:2375"]}`,
			wantErr: "the following directives don't match any configuration option: hosts, registry-mirror",
		},
		{
			name: "keys also given as flags",
			file: `{"max-concurrent-downloads": 3, "insecure-registries": ["a.lan:5000", "b.lan"], "debug": false}`,
			args: []string{"--insecure-registry", "c.lan", "--max-concurrent-downloads=5", "--debug"},
			wantErr: "the following directives are specified both as a flag and in the configuration file: " +
				"debug: (from flag: true, from file: false), insecure-registries: (from flag: [c.lan], from file: [a.lan:5000 b.lan]), " +
				"max-concurrent-downloads: (from flag: 5, from file: 3)",
		},
		{
			name:    "wrong type",
			file:    `{"max-concurrent-uploads": "many"}`,
			wantErr: `max-concurrent-uploads: want an integer: "many"`,
		},
		{
			name:    "a string for a list",
			file:    `{"registry-mirrors": "https://mirror.example.com"}`,
			wantErr: `registry-mirrors: want a list of strings: "https://mirror.example.com"`,
		},
		{
			name:    "not JSON",
			file:    `insecure-registries = ["a"]`,
			wantErr: "invalid JSON: invalid character 'i' looking for beginning of value",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServeFlags(t, tt.args...)
			err := Apply([]byte(tt.file), s.flags)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Apply: %v\nwant error %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s.flags = nil
			if !reflect.DeepEqual(*s, tt.want) {
				t.Errorf("flags after Apply: %+v\nwant %+v", *s, tt.want)
			}
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(path, []byte(`{"graph": "/x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Load(path, newServeFlags(t).flags)
	want := "unable to configure the skiff daemon with file " + path + ": the following directives don't match any configuration option: graph"
	if err == nil || err.Error() != want {
		t.Errorf("Load: %v\nwant %s", err, want)
	}
	missing := filepath.Join(t.TempDir(), "none.json")
	if err := Load(missing, newServeFlags(t).flags); err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("Load of a missing file: %v, want it refused", err)
	}
}

func TestRegistry(t *testing.T) {
	tests := []struct {
		name              string
		insecure, mirrors []string
		downloads         int
		want              registry.Config
		wantErr           string
	}{
		{
			name:      "normalized",
			insecure:  []string{"registry.lan:5000", "http://plain.lan", "10.1.2.3/16", "[fd00::1]:5000", "registry.lan:5000", "index.docker.io"},
			mirrors:   []string{"https://mirror.example.com", "http://10.0.0.2:5000/", "https://mirror.example.com/"},
			downloads: 3,
			want: registry.Config{
				Insecure:               []string{"registry.lan:5000", "plain.lan", "10.1.0.0/16", "[fd00::1]:5000", "docker.io"},
				Mirrors:                []string{"https://mirror.example.com/", "http://10.0.0.2:5000/"},
				MaxConcurrentDownloads: 3, MaxConcurrentUploads: 5,
			},
		},
		{name: "mirror without scheme", mirrors: []string{"mirror.example.com:5000"},
			wantErr: `invalid mirror: no scheme specified for "mirror.example.com:5000": must use either 'https://' or 'http://'`},
		{name: "mirror with another scheme", mirrors: []string{"ftp://mirror.example.com"},
			wantErr: `invalid mirror: unsupported scheme "ftp" in "ftp://mirror.example.com": must use either 'https://' or 'http://'`},
		{name: "mirror with a path", mirrors: []string{"https://mirror.example.com/v2/"},
			wantErr: `invalid mirror: path, query, or fragment at end of the URI "https://mirror.example.com/v2/"`},
		{name: "mirror with a query", mirrors: []string{"https://mirror.example.com/?a=b"},
			wantErr: `invalid mirror: path, query, or fragment at end of the URI "https://mirror.example.com/?a=b"`},
		{name: "mirror with an account", mirrors: []string{"https://me:secret@mirror.example.com"},
			wantErr: `invalid mirror: username/password not allowed in URI "https://me:xxxxx@mirror.example.com"`},
		{name: "bad CIDR", insecure: []string{"10.0.0.0/33"},
			wantErr: `insecure registry 10.0.0.0/33 is not valid: invalid host "10.0.0.0/33"`},
		{name: "bad host", insecure: []string{"registry lan"},
			wantErr: `insecure registry registry lan is not valid: invalid host "registry lan"`},
		{name: "bad port", insecure: []string{"registry.lan:99999"},
			wantErr: `insecure registry registry.lan:99999 is not valid: invalid port "99999"`},
		{name: "another scheme", insecure: []string{"ftp://registry.lan"},
			wantErr: `insecure registry ftp://registry.lan should not contain '://'`},
		{name: "hyphen", insecure: []string{"-registry.lan"},
			wantErr: `invalid index name (-registry.lan). Cannot begin or end with a hyphen`},
		{name: "negative downloads", downloads: -1, wantErr: "invalid max concurrent downloads: -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Registry(tt.insecure, tt.mirrors, tt.downloads, 5)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Registry: %v\nwant error %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Registry = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
