package dockerapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/containerd/errdefs"
)

// filters is the decoded "filters" query parameter: a key and its values.
type filters map[string][]string

// parseFilters decodes the filters parameter in both encodings clients
// send: {"key":{"value":true}} (current) and {"key":["value"]} (old).
// Keys outside allowed are refused, as moby does.
func parseFilters(raw string, allowed ...string) (filters, error) {
	f := filters{}
	if raw == "" {
		return f, nil
	}
	var current map[string]map[string]bool
	if err := json.Unmarshal([]byte(raw), &current); err == nil {
		for k, set := range current {
			for v, on := range set {
				if on {
					f[k] = append(f[k], v)
				}
			}
			sort.Strings(f[k])
		}
	} else {
		var old map[string][]string
		if err := json.Unmarshal([]byte(raw), &old); err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter %q: %v", raw, err))
		}
		f = old
	}
	for k := range f {
		if !slices.Contains(allowed, k) {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter '%s'", k))
		}
	}
	return f, nil
}

// single returns the one value of key, or an error when several are given.
func (f filters) single(key string) (string, error) {
	switch v := f[key]; len(v) {
	case 0:
		return "", nil
	case 1:
		return v[0], nil
	default:
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("filter %q takes one value, got %d", key, len(v)))
	}
}

// boolean returns the value of a true/false filter, nil when absent.
func (f filters) boolean(key string) (*bool, error) {
	v, err := f.single(key)
	if err != nil || v == "" {
		return nil, err
	}
	switch v {
	case "true", "1":
		t := true
		return &t, nil
	case "false", "0":
		b := false
		return &b, nil
	}
	return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter '%s=%s'", key, v))
}
