// Package daemonconfig reads skiff serve's configuration file, a
// daemon.json in the form of Docker's, onto serve's flags, and validates
// the registry settings the engine gets from them. A file key is the
// flag's daemon.json name (insecure-registries for --insecure-registry);
// as with dockerd, an unknown key, or one whose flag is also given, stops
// the daemon rather than being ignored or silently overridden.
package daemonconfig

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// DefaultPath is read when serve is given no --config and it exists.
const DefaultPath = "/etc/skiff/daemon.json"

// kind is the JSON type of a key's value.
type kind int

const (
	kindString kind = iota
	kindStrings
	kindInt
	kindBool
)

// keys maps each daemon.json key to the flag it stands for.
var keys = map[string]struct {
	flag string
	kind kind
}{
	"insecure-registries":      {"insecure-registry", kindStrings},
	"registry-mirrors":         {"registry-mirror", kindStrings},
	"max-concurrent-downloads": {"max-concurrent-downloads", kindInt},
	"max-concurrent-uploads":   {"max-concurrent-uploads", kindInt},
	"data-root":                {"data-root", kindString},
	"bridge":                   {"bridge", kindString},
	"debug":                    {"debug", kindBool},
}

// Keys lists the keys a daemon.json may hold, sorted.
func Keys() []string {
	list := make([]string, 0, len(keys))
	for k := range keys {
		list = append(list, k)
	}
	slices.Sort(list)
	return list
}

// Load reads the daemon.json at path onto flags (see Apply). Its errors
// name the file, as dockerd's do.
func Load(path string, flags *pflag.FlagSet) error {
	data, err := os.ReadFile(path)
	if err == nil {
		err = Apply(data, flags)
	}
	if err != nil {
		return fmt.Errorf("unable to configure the skiff daemon with file %s: %w", path, err)
	}
	return nil
}

// Apply sets the flags that the keys of the daemon.json data stand for. It
// refuses unknown keys, values of the wrong type, and keys whose flag was
// given on the command line, naming each.
func Apply(data []byte, flags *pflag.FlagSet) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	var unknown []string
	for k := range raw {
		if _, ok := keys[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("the following directives don't match any configuration option: %s", strings.Join(unknown, ", "))
	}
	values := map[string][]string{} // each key's value as the flag's Set takes it
	var conflicts []string
	for _, k := range Keys() {
		data, ok := raw[k]
		if !ok {
			continue
		}
		key := keys[k]
		f := flags.Lookup(key.flag)
		if f == nil {
			return fmt.Errorf("%s: no flag %s to set", k, key.flag)
		}
		v, shown, err := decode(data, key.kind)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		if f.Changed {
			conflicts = append(conflicts, fmt.Sprintf("%s: (from flag: %s, from file: %s)", k, flagValue(f), shown))
		}
		values[key.flag] = v
	}
	if len(conflicts) > 0 {
		return fmt.Errorf("the following directives are specified both as a flag and in the configuration file: %s", strings.Join(conflicts, ", "))
	}
	for flag, vs := range values {
		for _, v := range vs {
			if err := flags.Set(flag, v); err != nil {
				return fmt.Errorf("%s: %w", flag, err)
			}
		}
	}
	return nil
}

// decode reads a key's value of kind k and returns it as the strings its
// flag's Set takes, and as an error message shows it.
func decode(data json.RawMessage, k kind) (values []string, shown string, err error) {
	switch k {
	case kindStrings:
		var list []string
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, "", fmt.Errorf("want a list of strings: %s", data)
		}
		return list, fmt.Sprint(list), nil
	case kindInt:
		var n int
		if err := json.Unmarshal(data, &n); err != nil {
			return nil, "", fmt.Errorf("want an integer: %s", data)
		}
		return []string{strconv.Itoa(n)}, strconv.Itoa(n), nil
	case kindBool:
		var b bool
		if err := json.Unmarshal(data, &b); err != nil {
			return nil, "", fmt.Errorf("want true or false: %s", data)
		}
		return []string{strconv.FormatBool(b)}, strconv.FormatBool(b), nil
	default:
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, "", fmt.Errorf("want a string: %s", data)
		}
		return []string{s}, s, nil
	}
}

// flagValue shows a flag's value as dockerd does: lists as [a b].
func flagValue(f *pflag.Flag) string {
	if list, ok := f.Value.(pflag.SliceValue); ok {
		return fmt.Sprint(list.GetSlice())
	}
	return f.Value.String()
}
