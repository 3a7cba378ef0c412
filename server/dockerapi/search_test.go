package dockerapi

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/containerd/errdefs"
	registrytypes "github.com/moby/moby/api/types/registry"

	"github.com/skiff-dev/skiff/engine/registry"
)

func TestSearchOptions(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		limit, filters string
		want           registry.SearchOptions
		wantErr        string
	}{
		{"", "", registry.SearchOptions{}, ""},
		{"10", `{"stars":{"3":true,"50":true},"is-official":{"false":true}}`, registry.SearchOptions{Limit: 10, Stars: 50, Official: &no}, ""},
		{"", `{"is-official":["1"]}`, registry.SearchOptions{Official: &yes}, ""},
		{"", `{"is-automated":{"true":true}}`, registry.SearchOptions{Automated: &yes}, ""},
		{"0", "", registry.SearchOptions{}, "limit 0 is outside the range of [1, 100]"},
		{"101", "", registry.SearchOptions{}, "limit 101 is outside the range of [1, 100]"},
		{"ten", "", registry.SearchOptions{}, `invalid limit specified: strconv.Atoi: parsing "ten": invalid syntax`},
		{"", `{"name":{"x":true}}`, registry.SearchOptions{}, "invalid filter 'name'"},
		{"", `{"is-official":{"maybe":true}}`, registry.SearchOptions{}, "invalid filter 'is-official=maybe'"},
		{"", `{"stars":{"many":true}}`, registry.SearchOptions{}, `invalid filter 'stars=many': strconv.Atoi: parsing "many": invalid syntax`},
	}
	for _, tt := range tests {
		got, err := searchOptions(tt.limit, tt.filters)
		if tt.wantErr != "" {
			if !errdefs.IsInvalidArgument(err) || err.Error() != tt.wantErr {
				t.Errorf("searchOptions(%q, %s): %v, want invalid argument %q", tt.limit, tt.filters, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("searchOptions(%q, %s) = %+v, %v; want %+v", tt.limit, tt.filters, got, err, tt.want)
		}
	}
}

func TestSearchedRegistry(t *testing.T) {
	for term, want := range map[string]string{
		"busybox":                 "docker.io",
		"someone/tools":           "docker.io",
		"127.0.0.1:5000/bus":      "127.0.0.1:5000",
		"registry.example/team/x": "registry.example",
		"Not A Name":              "docker.io",
	} {
		if got := searchedRegistry(term); got != want {
			t.Errorf("searchedRegistry(%q) = %q, want %q", term, got, want)
		}
	}
}

func TestRegistryServiceConfig(t *testing.T) {
	got := registryServiceConfig(registry.Config{
		Insecure: []string{"registry.lan:5000", "10.1.0.0/16", "127.0.0.0/8"},
		Mirrors:  []string{"https://mirror.example.com/"},
	})
	want := &registrytypes.ServiceConfig{
		InsecureRegistryCIDRs: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("127.0.0.0/8")},
		IndexConfigs: map[string]*registrytypes.IndexInfo{
			"docker.io":         {Name: "docker.io", Mirrors: []string{"https://mirror.example.com/"}, Secure: true, Official: true},
			"registry.lan:5000": {Name: "registry.lan:5000", Mirrors: []string{}},
		},
		Mirrors: []string{"https://mirror.example.com/"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("registryServiceConfig = %+v\nwant %+v", got, want)
	}
	if none := registryServiceConfig(registry.Config{}); len(none.InsecureRegistryCIDRs) != 1 || none.InsecureRegistryCIDRs[0] != loopbackCIDR {
		t.Errorf("with no settings, insecure CIDRs %v; want loopback's only, as Docker", none.InsecureRegistryCIDRs)
	}
}
