package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/docker/go-connections/nat"
	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/blkiodev"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/spf13/pflag"
)

// containerOptions are the flags `run` and `create` share. toCreateRequest
// turns them into the create request the docker 28 CLI sends for the same
// command line, field for field (engine-api.md 3.4).
type containerOptions struct {
	image string   // IMAGE argument
	args  []string // COMMAND [ARG...]

	name        string
	interactive bool // -i: keep stdin open and attach it
	tty         bool // -t
	autoRemove  bool // --rm
	env         []string
	envFiles    []string
	labels      []string
	memory      int64 // -m, bytes
	nanoCPUs    int64 // --cpus, in billionths of a CPU
	workdir     string
	user        string
	hostname    string
	volumes     []string
	publish     []string
	publishAll  bool     // -P
	dns         []string // --dns
	addHosts    []string // --add-host
	network     string
	aliases     []string
	restart     string
	pidsLimit   int64
	capAdd      []string
	capDrop     []string
	privileged  bool
	securityOpt []string
	entrypoint  string
	// entrypointSet records an explicit --entrypoint, so that
	// --entrypoint="" resets the image's entrypoint as with docker.
	entrypointSet bool
}

// addContainerFlags registers the flags of containerOptions on flags.
func addContainerFlags(flags *pflag.FlagSet, opts *containerOptions) {
	flags.StringVar(&opts.name, "name", "", "Assign a name to the container")
	flags.BoolVarP(&opts.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	flags.BoolVarP(&opts.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	flags.BoolVar(&opts.autoRemove, "rm", false, "Automatically remove the container and its associated anonymous volumes when it exits")
	flags.VarP(&listFlag{values: &opts.env, validate: validateEnv}, "env", "e", "Set environment variables")
	flags.StringArrayVar(&opts.envFiles, "env-file", nil, "Read in a file of environment variables")
	flags.VarP(&listFlag{values: &opts.labels, validate: validateLabel}, "label", "l", "Set meta data on a container")
	flags.StringVarP(&opts.workdir, "workdir", "w", "", "Working directory inside the container")
	flags.StringVarP(&opts.user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	flags.StringVarP(&opts.hostname, "hostname", "h", "", "Container host name")
	// -h is the hostname, so help is --help alone, as with docker.
	flags.Bool("help", false, "Print usage")
	flags.StringArrayVarP(&opts.volumes, "volume", "v", nil, "Bind mount a volume")
	flags.StringArrayVarP(&opts.publish, "publish", "p", nil, "Publish a container's port(s) to the host")
	flags.BoolVarP(&opts.publishAll, "publish-all", "P", false, "Publish all exposed ports to random ports")
	flags.StringArrayVar(&opts.dns, "dns", nil, "Set custom DNS servers")
	flags.StringArrayVar(&opts.addHosts, "add-host", nil, "Add a custom host-to-IP mapping (host:ip)")
	flags.StringVar(&opts.network, "network", "", "Connect a container to a network")
	flags.StringSliceVar(&opts.aliases, "network-alias", nil, "Add network-scoped alias for the container")
	flags.StringVar(&opts.restart, "restart", string(container.RestartPolicyDisabled), "Restart policy to apply when a container exits")
	flags.VarP((*memoryFlag)(&opts.memory), "memory", "m", "Memory limit")
	flags.Var((*cpusFlag)(&opts.nanoCPUs), "cpus", "Number of CPUs")
	flags.Int64Var(&opts.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	flags.StringArrayVar(&opts.capAdd, "cap-add", nil, "Add Linux capabilities")
	flags.StringArrayVar(&opts.capDrop, "cap-drop", nil, "Drop Linux capabilities")
	flags.BoolVar(&opts.privileged, "privileged", false, "Give extended privileges to this container")
	flags.StringArrayVar(&opts.securityOpt, "security-opt", nil, "Security Options")
	flags.StringVar(&opts.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	// Like docker's, these commands take the image's command line as is:
	// flags after IMAGE belong to the command.
	flags.SetInterspersed(false)
}

// createRequest is what POST /containers/create carries, plus the name
// that travels in the query.
type createRequest struct {
	config     *container.Config
	hostConfig *container.HostConfig
	networking *network.NetworkingConfig
}

// toCreateRequest maps the options to the create request. lookupEnv
// resolves variables named without a value (-e NAME, NAME in --env-file);
// consoleSize is the terminal's [height, width] for -t, zero otherwise.
func (opts *containerOptions) toCreateRequest(lookupEnv func(string) string, consoleSize [2]uint) (createRequest, error) {
	env, err := opts.environment(lookupEnv)
	if err != nil {
		return createRequest{}, err
	}
	exposed, bindings, err := parsePublish(opts.publish)
	if err != nil {
		return createRequest{}, err
	}
	binds, anonymous, err := parseVolumes(opts.volumes)
	if err != nil {
		return createRequest{}, err
	}
	restart, err := parseRestartPolicy(opts.restart)
	if err != nil {
		return createRequest{}, err
	}
	securityOpts, maskedPaths, readonlyPaths, err := parseSecurityOpts(opts.securityOpt)
	if err != nil {
		return createRequest{}, err
	}
	dns := []netip.Addr{}
	for _, d := range opts.dns {
		a, err := netip.ParseAddr(d)
		if err != nil {
			return createRequest{}, fmt.Errorf("invalid argument %q for \"--dns\" flag: %s is not an ip address", d, d)
		}
		dns = append(dns, a)
	}
	for _, h := range opts.addHosts {
		if _, _, ok := strings.Cut(h, ":"); !ok {
			return createRequest{}, fmt.Errorf("invalid argument %q for \"--add-host\" flag: bad format for add-host: %q", h, h)
		}
	}
	labels := parseLabels(opts.labels)

	config := &container.Config{
		Hostname:     opts.hostname,
		User:         opts.user,
		AttachStdin:  opts.interactive,
		AttachStdout: true,
		AttachStderr: true,
		ExposedPorts: exposed,
		Tty:          opts.tty,
		OpenStdin:    opts.interactive,
		StdinOnce:    opts.interactive,
		Env:          env,
		Cmd:          nilIfEmpty(opts.args),
		Image:        opts.image,
		Volumes:      anonymous,
		WorkingDir:   opts.workdir,
		Labels:       labels,
	}
	switch {
	case opts.entrypoint != "":
		config.Entrypoint = []string{opts.entrypoint}
	case opts.entrypointSet:
		config.Entrypoint = []string{""} // --entrypoint="" clears the image's
	}

	networkMode := opts.network
	if networkMode == "" {
		networkMode = network.NetworkDefault
	}
	pidsLimit := opts.pidsLimit
	swappiness := int64(-1)
	oomKillDisable := false
	hostConfig := &container.HostConfig{
		Binds:           binds,
		LogConfig:       container.LogConfig{Config: map[string]string{}},
		NetworkMode:     container.NetworkMode(networkMode),
		PortBindings:    bindings,
		PublishAllPorts: opts.publishAll,
		ExtraHosts:      opts.addHosts,
		RestartPolicy:   restart,
		AutoRemove:      opts.autoRemove,
		CapAdd:          opts.capAdd,
		CapDrop:         opts.capDrop,
		DNS:             dns,
		DNSOptions:      []string{},
		DNSSearch:       []string{},
		Privileged:      opts.privileged,
		SecurityOpt:     securityOpts,
		MaskedPaths:     maskedPaths,
		ReadonlyPaths:   readonlyPaths,
		Resources: container.Resources{
			Memory:               opts.memory,
			NanoCPUs:             opts.nanoCPUs,
			BlkioWeightDevice:    []*blkiodev.WeightDevice{},
			BlkioDeviceReadBps:   []*blkiodev.ThrottleDevice{},
			BlkioDeviceWriteBps:  []*blkiodev.ThrottleDevice{},
			BlkioDeviceReadIOps:  []*blkiodev.ThrottleDevice{},
			BlkioDeviceWriteIOps: []*blkiodev.ThrottleDevice{},
			Devices:              []container.DeviceMapping{},
			MemorySwappiness:     &swappiness,
			OomKillDisable:       &oomKillDisable,
			PidsLimit:            &pidsLimit,
			Ulimits:              []*container.Ulimit{},
		},
	}
	if opts.tty {
		hostConfig.ConsoleSize = consoleSize
	}

	// Without --network the CLI names the default network's endpoint; a
	// single --network without endpoint options gets none (the daemon
	// creates it), as docker does.
	endpoints := map[string]*network.EndpointSettings{}
	switch {
	case opts.network == "":
		endpoints[network.NetworkDefault] = &network.EndpointSettings{Aliases: opts.aliases}
	case len(opts.aliases) > 0:
		endpoints[opts.network] = &network.EndpointSettings{Aliases: opts.aliases}
	}
	return createRequest{
		config:     config,
		hostConfig: hostConfig,
		networking: &network.NetworkingConfig{EndpointsConfig: endpoints},
	}, nil
}

// environment is the container's Env: the --env-file entries, then -e,
// with variables given by name only resolved from the local environment.
func (opts *containerOptions) environment(lookupEnv func(string) string) ([]string, error) {
	var env []string
	for _, file := range opts.envFiles {
		entries, err := parseEnvFile(file, lookupEnv)
		if err != nil {
			return nil, err
		}
		env = append(env, entries...)
	}
	for _, entry := range opts.env {
		resolved, err := resolveEnv(entry, lookupEnv)
		if err != nil {
			return nil, err
		}
		env = append(env, resolved)
	}
	return env, nil
}

// resolveEnv validates one -e value: NAME=VALUE stays, a bare NAME takes
// its value from the local environment when it has one there.
func resolveEnv(entry string, lookupEnv func(string) string) (string, error) {
	name, _, hasValue := strings.Cut(entry, "=")
	if name == "" {
		return "", fmt.Errorf("invalid environment variable: %s", entry)
	}
	if hasValue {
		return entry, nil
	}
	if value := lookupEnv(name); value != "" {
		return name + "=" + value, nil
	}
	return entry, nil
}

// parseEnvFile reads an --env-file as docker does: one NAME=VALUE a line,
// taken literally; blank lines and # comments skipped; a bare NAME takes
// its local value and is dropped when it has none.
func parseEnvFile(path string, lookupEnv func(string) string) ([]string, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var env []string
	scanner := bufio.NewScanner(bytes.NewReader(content))
	for line := 1; scanner.Scan(); line++ {
		text := strings.TrimLeftFunc(scanner.Text(), unicode.IsSpace)
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		name, value, hasValue := strings.Cut(text, "=")
		if name == "" {
			return nil, fmt.Errorf("no variable name on line '%s'", text)
		}
		if strings.ContainsFunc(name, unicode.IsSpace) {
			return nil, fmt.Errorf("variable '%s' contains whitespaces", name)
		}
		if hasValue {
			env = append(env, name+"="+value)
		} else if local := lookupEnv(name); local != "" {
			env = append(env, name+"="+local)
		}
	}
	return env, scanner.Err()
}

// parsePublish turns -p specs ([ip:][hostPort:]containerPort[/proto]) into
// the exposed ports and bindings docker sends; both are empty maps, never
// nil, so that PortBindings encodes as {}.
func parsePublish(specs []string) (network.PortSet, network.PortMap, error) {
	exposed := network.PortSet{}
	bindings := network.PortMap{}
	for _, spec := range specs {
		mappings, err := nat.ParsePortSpec(spec)
		if err != nil {
			return nil, nil, err
		}
		for _, mapping := range mappings {
			port, err := network.ParsePort(string(mapping.Port))
			if err != nil {
				return nil, nil, err
			}
			binding := network.PortBinding{HostPort: mapping.Binding.HostPort}
			if mapping.Binding.HostIP != "" {
				if binding.HostIP, err = netip.ParseAddr(mapping.Binding.HostIP); err != nil {
					return nil, nil, fmt.Errorf("invalid IP address: %s", mapping.Binding.HostIP)
				}
			}
			exposed[port] = struct{}{}
			bindings[port] = append(bindings[port], binding)
		}
	}
	return exposed, bindings, nil
}

// parseVolumes splits -v values as docker does: a spec with a source (a
// host path or a volume name) becomes a bind — a relative host path
// starting with "." made absolute — and one without (a container path
// alone) an anonymous volume. Checking the paths is left to the daemon.
func parseVolumes(specs []string) (binds []string, anonymous map[string]struct{}, _ error) {
	anonymous = map[string]struct{}{}
	for _, spec := range specs {
		source, err := volumeSource(spec)
		if err != nil {
			return nil, nil, err
		}
		if source == "" {
			anonymous[spec] = struct{}{}
			continue
		}
		bind := spec
		if strings.HasPrefix(source, ".") {
			if abs, err := filepath.Abs(source); err == nil {
				_, rest, _ := strings.Cut(spec, ":")
				bind = abs + ":" + rest
			}
		}
		binds = append(binds, bind)
	}
	return binds, anonymous, nil
}

// volumeSource is the source of a [source:]target[:options] spec, "" for
// an anonymous volume. Sections split at colons as in docker's volumespec:
// not after a single letter (a Windows drive), so "a:b" is one anonymous
// target; specs of up to two characters are targets.
func volumeSource(spec string) (string, error) {
	switch len(spec) {
	case 0:
		return "", errors.New("invalid empty volume spec")
	case 1, 2:
		return "", nil
	}
	var sections []string
	var buffer []rune
	flush := func() error {
		if len(buffer) == 0 {
			return fmt.Errorf("invalid spec: %s: empty section between colons", spec)
		}
		sections = append(sections, string(buffer))
		buffer = nil
		return nil
	}
	for _, char := range spec {
		switch {
		case char == ':' && len(buffer) == 1 && unicode.IsLetter(buffer[0]):
			buffer = append(buffer, char)
		case char == ':':
			if err := flush(); err != nil {
				return "", err
			}
			if len(sections) == 3 {
				return "", fmt.Errorf("invalid spec: %s: too many colons", spec)
			}
		default:
			buffer = append(buffer, char)
		}
	}
	if err := flush(); err != nil {
		return "", err
	}
	if len(sections) == 1 {
		return "", nil
	}
	return sections[0], nil
}

// parseRestartPolicy parses --restart: no, always, unless-stopped or
// on-failure[:max-retries].
func parseRestartPolicy(policy string) (container.RestartPolicy, error) {
	name, count, hasCount := strings.Cut(policy, ":")
	if hasCount && name == "" {
		return container.RestartPolicy{}, errors.New("invalid restart policy format: no policy provided before colon")
	}
	p := container.RestartPolicy{Name: container.RestartPolicyMode(name)}
	if count != "" {
		n, err := strconv.Atoi(count)
		if err != nil {
			return container.RestartPolicy{}, errors.New("invalid restart policy format: maximum retry count must be an integer")
		}
		p.MaximumRetryCount = n
	}
	// Unknown policies are the daemon's to reject, as with docker.
	return p, nil
}

// parseSecurityOpts checks --security-opt values as docker does (each
// needs a value, except no-new-privileges) and handles the ones the CLI
// interprets itself: seccomp=FILE is replaced by the file's compacted JSON,
// and systempaths=unconfined, removed from the list, empties the masked and
// read-only path lists.
func parseSecurityOpts(values []string) (opts, maskedPaths, readonlyPaths []string, _ error) {
	for _, value := range values {
		if value == "systempaths=unconfined" {
			maskedPaths, readonlyPaths = []string{}, []string{}
			continue
		}
		key, arg, hasArg := strings.Cut(value, "=")
		if !hasArg && key != "no-new-privileges" {
			key, arg, hasArg = strings.Cut(value, ":")
		}
		if (!hasArg || arg == "") && key != "no-new-privileges" {
			//lint:ignore ST1005 docker's wording
			return nil, nil, nil, fmt.Errorf("Invalid --security-opt: %q", value)
		}
		if key == "seccomp" && arg != "unconfined" && arg != "builtin" {
			profile, err := os.ReadFile(arg)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("opening seccomp profile (%s) failed: %w", arg, err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, profile); err != nil {
				return nil, nil, nil, fmt.Errorf("compacting json for seccomp profile (%s) failed: %w", arg, err)
			}
			value = "seccomp=" + compact.String()
		}
		opts = append(opts, value)
	}
	return opts, maskedPaths, readonlyPaths, nil
}

// parseLabels turns -l values (checked by validateLabel) into the Labels
// map, {} when none.
func parseLabels(values []string) map[string]string {
	labels := map[string]string{}
	for _, value := range values {
		key, val, _ := strings.Cut(value, "=")
		labels[key] = val
	}
	return labels
}

// listFlag collects a repeatable flag, checking each value as it is parsed
// so that a bad one is a flag error (exit status 125), as with docker.
type listFlag struct {
	values   *[]string
	validate func(string) error
}

func (f *listFlag) Set(value string) error {
	if err := f.validate(value); err != nil {
		return err
	}
	*f.values = append(*f.values, value)
	return nil
}

func (f *listFlag) String() string { return "" }
func (f *listFlag) Type() string   { return "list" }

func validateEnv(value string) error {
	if name, _, _ := strings.Cut(value, "="); name == "" {
		return fmt.Errorf("invalid environment variable: %s", value)
	}
	return nil
}

func validateLabel(value string) error {
	if name, _, _ := strings.Cut(value, "="); strings.TrimSpace(name) == "" {
		return fmt.Errorf("invalid label '%s': empty name", value)
	}
	return nil
}

// memoryFlag is a size such as 512m, in bytes.
type memoryFlag int64

func (f *memoryFlag) Set(value string) error {
	bytes, err := units.RAMInBytes(value)
	if err != nil {
		return err
	}
	*f = memoryFlag(bytes)
	return nil
}

func (f *memoryFlag) String() string {
	if *f == 0 {
		return "0"
	}
	return units.BytesSize(float64(*f))
}

func (f *memoryFlag) Type() string { return "bytes" }

// cpusFlag is a decimal number of CPUs, kept in billionths of a CPU.
type cpusFlag int64

func (f *cpusFlag) Set(value string) error {
	cpus, ok := new(big.Rat).SetString(value)
	if !ok {
		return fmt.Errorf("failed to parse %v as a rational number", value)
	}
	nano := cpus.Mul(cpus, big.NewRat(1e9, 1))
	if !nano.IsInt() {
		return errors.New("value is too precise")
	}
	*f = cpusFlag(nano.Num().Int64())
	return nil
}

func (f *cpusFlag) String() string {
	return strconv.FormatFloat(float64(*f)/1e9, 'f', -1, 64)
}

func (f *cpusFlag) Type() string { return "decimal" }

// nilIfEmpty keeps an empty list out of the request (null, as docker sends).
func nilIfEmpty(values []string) []string {
	if len(values) == 0 {
		return nil
	}
	return values
}
