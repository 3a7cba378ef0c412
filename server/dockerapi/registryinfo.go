package dockerapi

import (
	"net/netip"

	registrytypes "github.com/moby/moby/api/types/registry"

	"github.com/skiff-dev/skiff/engine/registry"
)

// indexServerAddress is Docker Hub's address in /info, as Docker gives it.
const indexServerAddress = "https://index.docker.io/v1/"

// loopbackCIDR is insecure whatever the settings, as with Docker.
var loopbackCIDR = netip.MustParsePrefix("127.0.0.0/8")

// registryServiceConfig is the registry settings as /info reports them:
// insecure CIDRs (loopback's last, as Docker lists it), an index entry per
// insecure host and one for Docker Hub with its mirrors.
func registryServiceConfig(cfg registry.Config) *registrytypes.ServiceConfig {
	mirrors := append([]string{}, cfg.Mirrors...)
	sc := &registrytypes.ServiceConfig{
		InsecureRegistryCIDRs: []netip.Prefix{},
		IndexConfigs: map[string]*registrytypes.IndexInfo{
			"docker.io": {Name: "docker.io", Mirrors: mirrors, Secure: true, Official: true},
		},
		Mirrors: mirrors,
	}
	for _, entry := range append(append([]string{}, cfg.Insecure...), loopbackCIDR.String()) {
		if prefix, err := netip.ParsePrefix(entry); err == nil {
			if !containsPrefix(sc.InsecureRegistryCIDRs, prefix.Masked()) {
				sc.InsecureRegistryCIDRs = append(sc.InsecureRegistryCIDRs, prefix.Masked())
			}
			continue
		}
		sc.IndexConfigs[entry] = &registrytypes.IndexInfo{Name: entry, Mirrors: []string{}}
	}
	return sc
}

func containsPrefix(list []netip.Prefix, p netip.Prefix) bool {
	for _, have := range list {
		if have == p {
			return true
		}
	}
	return false
}
