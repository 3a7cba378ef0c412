package container

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	containertypes "github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/engine/logfile"
	"github.com/skiff-dev/skiff/engine/monitor"
	"github.com/skiff-dev/skiff/engine/runtime"
	"github.com/skiff-dev/skiff/engine/runtime/cgroup"
	"github.com/skiff-dev/skiff/engine/runtime/seccomp"
)

// cgroupParent is the cgroup under which every container's lives.
const cgroupParent = "skiff"

// Log rotation defaults, as Docker's json-file with max-size 10m, max-file 3.
const (
	defaultLogMaxSize  = 10 << 20
	defaultLogMaxFiles = 3
)

// defaultPath is the PATH a container gets when its image sets none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// monitorConfig turns a container into what its monitor needs to run it.
func (s *Service) monitorConfig(ctx context.Context, c *Container) (monitor.Config, error) {
	spec, err := s.runtimeSpec(ctx, c)
	if err != nil {
		return monitor.Config{}, err
	}
	hc := c.HostConfig
	res := cgroup.Resources{
		Memory:     hc.Memory,
		MemorySwap: hc.MemorySwap,
		NanoCPUs:   hc.NanoCPUs,
		CPUShares:  hc.CPUShares,
	}
	if hc.PidsLimit != nil {
		res.PidsLimit = *hc.PidsLimit
	}
	dir := s.stateDir(c.ID)
	return monitor.Config{
		ID:           c.ID,
		StateDir:     dir,
		Spec:         *spec,
		Tty:          c.Config.Tty,
		OpenStdin:    c.Config.OpenStdin,
		StdinOnce:    c.Config.StdinOnce,
		ConsoleSize:  [2]uint16{uint16(hc.ConsoleSize[0]), uint16(hc.ConsoleSize[1])},
		Log:          logfile.WriterConfig{Path: logPath(dir), MaxSize: defaultLogMaxSize, MaxFiles: defaultLogMaxFiles},
		CgroupParent: cgroupParent,
		Resources:    res,
	}, nil
}

func logPath(stateDir string) string { return filepath.Join(stateDir, "container-json.log") }

// runtimeSpec builds the runtime's view of a container.
func (s *Service) runtimeSpec(ctx context.Context, c *Container) (*runtime.Spec, error) {
	lower, err := s.images.ChainPaths(ctx, c.TopLayer)
	if err != nil {
		return nil, fmt.Errorf("layers of container %s: %w", shortID(c.ID), err)
	}
	dir := s.stateDir(c.ID)
	network, err := s.networkOf(ctx, c)
	if err != nil {
		return nil, err
	}
	security, err := securityOf(c.HostConfig)
	if err != nil {
		return nil, err
	}
	if err := compileSeccomp(&security); err != nil {
		return nil, err
	}
	spec := &runtime.Spec{
		ID: c.ID,
		Root: runtime.Rootfs{
			LowerDirs: lower,
			UpperDir:  filepath.Join(dir, "upper"),
			WorkDir:   filepath.Join(dir, "work"),
			Target:    filepath.Join(dir, "rootfs"),
		},
		Process:  processOf(c.Config),
		Hostname: c.Config.Hostname,
		Network:  network,
		Security: security,
		Rlimits:  defaultRlimits(),
		Mounts: []runtime.Mount{
			{Source: filepath.Join(dir, "hostname"), Destination: "/etc/hostname"},
			{Source: filepath.Join(dir, "hosts"), Destination: "/etc/hosts"},
			{Source: filepath.Join(dir, "resolv.conf"), Destination: "/etc/resolv.conf"},
		},
	}
	mounts, err := s.volumeMounts(ctx, c)
	if err != nil {
		return nil, err
	}
	spec.Mounts = append(spec.Mounts, mounts...)
	return spec, nil
}

// processOf is the container's first process: entrypoint and command, and
// the environment Docker gives it.
func processOf(cfg *containertypes.Config) runtime.Process {
	env := slices.Clone(cfg.Env)
	if !hasEnv(env, "PATH") {
		env = append([]string{defaultPath}, env...)
	}
	env = mergeEnv(env, []string{"HOSTNAME=" + cfg.Hostname})
	if cfg.Tty && !hasEnv(env, "TERM") {
		env = append(env, "TERM=xterm")
	}
	cwd := cfg.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	return runtime.Process{
		Args:     append(slices.Clone(cfg.Entrypoint), cfg.Cmd...),
		Env:      env,
		Cwd:      cwd,
		User:     cfg.User,
		Terminal: cfg.Tty,
	}
}

func hasEnv(env []string, key string) bool {
	return slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, key+"=") })
}

// networkOf maps docker's network modes to the runtime's: "default" and
// "bridge" get a new namespace, as "none" does (so a prestarted init fits
// them), which the monitor plugs into the bridge before the process runs.
func (s *Service) networkOf(ctx context.Context, c *Container) (string, error) {
	mode := string(c.HostConfig.NetworkMode)
	switch {
	case mode == "host":
		return "host", nil
	case strings.HasPrefix(mode, "container:"):
		other, err := s.get(ctx, strings.TrimPrefix(mode, "container:"))
		if err != nil {
			return "", err
		}
		if !other.State.Running() || other.State.Pid == 0 {
			return "", errdefs.ErrConflict.WithMessage(fmt.Sprintf("cannot join network of a non running container: %s", shortID(other.ID)))
		}
		return fmt.Sprintf("/proc/%d/ns/net", other.State.Pid), nil
	}
	return "none", nil
}

// securityOf applies --privileged, --cap-add/--cap-drop and --security-opt
// to Docker's defaults.
func securityOf(hc *containertypes.HostConfig) (runtime.Security, error) {
	sec := runtime.Security{
		Capabilities:    slices.Clone(runtime.DefaultCapabilities),
		NoNewPrivileges: true,
		Seccomp:         true,
		MaskedPaths:     slices.Clone(runtime.DefaultMaskedPaths),
		ReadonlyPaths:   slices.Clone(runtime.DefaultReadonlyPaths),
	}
	for _, opt := range hc.SecurityOpt {
		key, value, _ := strings.Cut(opt, "=")
		if value == "" {
			key, value, _ = strings.Cut(opt, ":")
		}
		switch {
		case key == "seccomp" && value == "unconfined":
			sec.Seccomp = false
		case key == "no-new-privileges" && (value == "" || value == "true"):
			sec.NoNewPrivileges = true
		case key == "no-new-privileges" && value == "false":
			sec.NoNewPrivileges = false
		default:
			return sec, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid --security-opt: %q", opt))
		}
	}
	if hc.Privileged {
		sec.Privileged = true
		sec.Capabilities = runtime.AllCapabilities()
		sec.Seccomp = false
		sec.MaskedPaths, sec.ReadonlyPaths = nil, nil
		return sec, nil
	}
	caps, err := adjustCapabilities(sec.Capabilities, hc.CapAdd, hc.CapDrop)
	sec.Capabilities = caps
	return sec, err
}

// compileSeccomp gives sec its seccomp profile compiled: once per
// capability set in the daemon (seccomp.Default keeps them), rather than
// in every container's init.
func compileSeccomp(sec *runtime.Security) error {
	sec.SeccompProgram = nil
	if !sec.Seccomp {
		return nil
	}
	f, err := seccomp.Default(sec.Capabilities)
	if err != nil {
		return fmt.Errorf("compile the seccomp profile: %w", err)
	}
	sec.SeccompProgram = f.Program()
	return nil
}

func normalizeCap(name string) string {
	name = strings.ToUpper(name)
	if name != "ALL" && !strings.HasPrefix(name, "CAP_") {
		name = "CAP_" + name
	}
	return name
}

// adjustCapabilities adds and drops capabilities as docker's --cap-add and
// --cap-drop do ("ALL" included).
func adjustCapabilities(caps, add, drop []string) ([]string, error) {
	known := runtime.AllCapabilities()
	for _, c := range append(slices.Clone(add), drop...) {
		if n := normalizeCap(c); n != "ALL" && !slices.Contains(known, n) {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("unknown capability: %q", c))
		}
	}
	for _, d := range drop {
		if normalizeCap(d) == "ALL" {
			caps = nil
			continue
		}
		caps = slices.DeleteFunc(caps, func(c string) bool { return c == normalizeCap(d) })
	}
	for _, a := range add {
		if normalizeCap(a) == "ALL" {
			return known, nil
		}
		if n := normalizeCap(a); !slices.Contains(caps, n) {
			caps = append(caps, n)
		}
	}
	return caps, nil
}

// defaultRlimits are the limits every container starts with: 1024 open files
// (soft) as containerd gives, up to the daemon's own hard limit, which cannot
// be raised on every host.
func defaultRlimits() []runtime.Rlimit {
	var r unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &r) != nil {
		return nil
	}
	return []runtime.Rlimit{{Type: "RLIMIT_NOFILE", Soft: min(1024, r.Max), Hard: r.Max}}
}
