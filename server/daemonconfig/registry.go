package daemonconfig

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/skiff-dev/skiff/engine/registry"
)

// Registry validates the registry settings, with dockerd's rules and
// messages, and returns them as the engine takes them: mirrors as
// "scheme://host/", CIDRs in canonical form, duplicates dropped.
func Registry(insecure, mirrors []string, maxDownloads, maxUploads int) (registry.Config, error) {
	cfg := registry.Config{MaxConcurrentDownloads: maxDownloads, MaxConcurrentUploads: maxUploads}
	if maxDownloads < 0 {
		return cfg, fmt.Errorf("invalid max concurrent downloads: %d", maxDownloads)
	}
	if maxUploads < 0 {
		return cfg, fmt.Errorf("invalid max concurrent uploads: %d", maxUploads)
	}
	for _, m := range mirrors {
		mirror, err := validateMirror(m)
		if err != nil {
			return cfg, err
		}
		cfg.Mirrors = appendNew(cfg.Mirrors, mirror)
	}
	for _, r := range insecure {
		entry, err := validateInsecure(r)
		if err != nil {
			return cfg, err
		}
		cfg.Insecure = appendNew(cfg.Insecure, entry)
	}
	return cfg, nil
}

func appendNew(list []string, s string) []string {
	for _, have := range list {
		if have == s {
			return list
		}
	}
	return append(list, s)
}

// validateMirror checks a registry mirror: an http or https URL of a host,
// with no path beyond "/", no query, fragment or account.
func validateMirror(mirror string) (string, error) {
	if scheme, _, ok := strings.Cut(mirror, "://"); !ok || scheme == "" {
		return "", fmt.Errorf("invalid mirror: no scheme specified for %q: must use either 'https://' or 'http://'", mirror)
	}
	u, err := url.Parse(mirror)
	if err != nil {
		return "", fmt.Errorf("invalid mirror: %q is not a valid URI: %w", mirror, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("invalid mirror: unsupported scheme %q in %q: must use either 'https://' or 'http://'", u.Scheme, u)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("invalid mirror: path, query, or fragment at end of the URI %q", u)
	}
	if u.User != nil {
		// The password stays out of logs and error messages.
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
		return "", fmt.Errorf("invalid mirror: username/password not allowed in URI %q", u)
	}
	if u.Host == "" {
		return "", fmt.Errorf("invalid mirror: no host in %q", mirror)
	}
	return u.Scheme + "://" + u.Host + "/", nil
}

// hostPort is a registry host name or IPv4 address, or a bracketed IPv6
// address, with an optional port.
var hostPort = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::([0-9]+))?$`)
})

// validateInsecure checks an insecure registry: "host", "host:port" or a
// CIDR. A leading http:// or https:// is dropped, as dockerd drops it.
func validateInsecure(r string) (string, error) {
	if r == "index.docker.io" {
		r = "docker.io"
	}
	if strings.HasPrefix(r, "-") || strings.HasSuffix(r, "-") {
		return "", fmt.Errorf("invalid index name (%s). Cannot begin or end with a hyphen", r)
	}
	lower := strings.ToLower(r)
	switch {
	case strings.HasPrefix(lower, "http://"):
		r = r[len("http://"):]
	case strings.HasPrefix(lower, "https://"):
		r = r[len("https://"):]
	case strings.Contains(r, "://"):
		return "", fmt.Errorf("insecure registry %s should not contain '://'", r)
	}
	if _, ipnet, err := net.ParseCIDR(r); err == nil {
		return ipnet.String(), nil
	}
	m := hostPort().FindStringSubmatch(r)
	if m == nil {
		host := r
		if h, _, err := net.SplitHostPort(r); err == nil {
			host = h
		}
		return "", fmt.Errorf("insecure registry %s is not valid: invalid host %q", r, host)
	}
	if m[1] != "" {
		if port, err := strconv.Atoi(m[1]); err != nil || port > 65535 {
			return "", fmt.Errorf("insecure registry %s is not valid: invalid port %q", r, m[1])
		}
	}
	return r, nil
}
