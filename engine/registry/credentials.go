package registry

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// redacted stands for a secret wherever Credentials are printed.
const redacted = "[redacted]"

// String prints the username only: credentials end up in log lines and
// error messages by accident, the secret must not go with them.
func (c Credentials) String() string {
	return fmt.Sprintf("{Username:%s Password:%s IdentityToken:%s RegistryToken:%s}",
		c.Username, hide(c.Password), hide(c.IdentityToken), hide(c.RegistryToken))
}

// GoString is String, for %#v.
func (c Credentials) GoString() string { return "registry.Credentials" + c.String() }

// Format makes every verb (%v, %+v, %s, %q, %#v) print String's form,
// never the fields themselves.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, c.GoString())
		return
	}
	fmt.Fprint(f, c.String())
}

// LogValue keeps the secret out of slog's output.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", c.Username), slog.String("secret", hide(c.Password+c.IdentityToken+c.RegistryToken)))
}

func hide(secret string) string {
	if secret == "" {
		return ""
	}
	return redacted
}

// Empty reports whether c names no account: an anonymous request.
func (c Credentials) Empty() bool {
	return c.Username == "" && c.Password == "" && c.IdentityToken == "" && c.RegistryToken == ""
}

// NormalizeHost is the key of a registry's credentials, as Docker names
// it: "docker.io" for Docker Hub in any of its spellings
// ("https://index.docker.io/v1/", "registry-1.docker.io"), else the host
// and port of the server address without scheme or path.
func NormalizeHost(server string) string {
	host := strings.TrimSpace(server)
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	host, _, _ = strings.Cut(host, "/")
	host = strings.ToLower(host)
	switch host {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return "docker.io"
	}
	return host
}

// keychain answers go-containerregistry's authentication lookups from
// Options.Credentials, keyed by the normalized registry host.
type keychain struct {
	lookup func(host string) (Credentials, bool)
}

func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if k.lookup == nil {
		return authn.Anonymous, nil
	}
	c, ok := k.lookup(NormalizeHost(r.RegistryStr()))
	if !ok || c.Empty() {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{
		Username:      c.Username,
		Password:      c.Password,
		IdentityToken: c.IdentityToken,
		RegistryToken: c.RegistryToken,
	}), nil
}
