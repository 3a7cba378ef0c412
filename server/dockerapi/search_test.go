package dockerapi

import (
	"encoding/base64"
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

func TestSearchAccount(t *testing.T) {
	encode := func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		header string
		want   registry.Credentials
		ok     bool
	}{
		{"", registry.Credentials{}, false},
		{"e30=", registry.Credentials{}, false},
		{encode(`{"username":"me","password":"secret","serveraddress":"127.0.0.1:5000"}`), registry.Credentials{Username: "me", Password: "secret"}, true},
		{base64.RawURLEncoding.EncodeToString([]byte(`{"identitytoken":"tok"}`)), registry.Credentials{IdentityToken: "tok"}, true},
		{"!!!", registry.Credentials{}, false},
	}
	for _, tt := range tests {
		got, ok := searchAccount(tt.header)
		if got != tt.want || ok != tt.ok {
			t.Errorf("searchAccount(%q) = %+v, %v; want %+v, %v", tt.header, got, ok, tt.want, tt.ok)
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
