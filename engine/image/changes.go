package image

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// ApplyChanges applies Dockerfile instructions given as text (docker import
// --change and docker commit --change) to cfg.
func ApplyChanges(cfg *dockerspec.DockerOCIImageConfig, changes []string) error {
	if len(changes) == 0 {
		return nil
	}
	ast, err := parser.Parse(strings.NewReader(strings.Join(changes, "\n")))
	if err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid change: %v", err))
	}
	for _, node := range ast.AST.Children {
		cmd, err := instructions.ParseCommand(node)
		if err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid change %q: %v", node.Original, err))
		}
		if err := expandWords(cmd, cfg.Env); err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid change %q: %v", node.Original, err))
		}
		if err := ApplyConfigInstruction(cfg, cmd); err != nil {
			return err
		}
	}
	return nil
}

// expandWords substitutes $VARIABLES from env and removes quoting in the
// instructions that take words, as the builder does.
func expandWords(cmd instructions.Command, env []string) error {
	x, ok := cmd.(instructions.SupportsSingleWordExpansion)
	if !ok {
		return nil
	}
	lex := shell.NewLex(parser.DefaultEscapeToken)
	return x.Expand(func(word string) (string, error) {
		out, _, err := lex.ProcessWord(word, shell.EnvsFromSlice(env))
		return out, err
	})
}

// ApplyConfigInstruction applies one metadata instruction (one that changes
// the image config but no files) to cfg. Other instructions are refused with
// an errdefs.ErrInvalidArgument error.
func ApplyConfigInstruction(cfg *dockerspec.DockerOCIImageConfig, cmd instructions.Command) error {
	switch c := cmd.(type) {
	case *instructions.CmdCommand:
		cfg.Cmd = commandLine(cfg, c.ShellDependantCmdLine)
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = commandLine(cfg, c.ShellDependantCmdLine)
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
		}
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
		}
	case *instructions.ExposeCommand:
		for _, p := range c.Ports {
			ports, err := expandPorts(p)
			if err != nil {
				return err
			}
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			for _, port := range ports {
				cfg.ExposedPorts[port] = struct{}{}
			}
		}
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			if v = strings.TrimSpace(v); v == "" {
				return errdefs.ErrInvalidArgument.WithMessage("VOLUME specified can not be an empty string")
			}
			cfg.Volumes[v] = struct{}{}
		}
	case *instructions.WorkdirCommand:
		dir := c.Path
		if !path.IsAbs(dir) {
			dir = path.Join("/", cfg.WorkingDir, dir)
		}
		cfg.WorkingDir = path.Clean(dir)
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.StopSignalCommand:
		cfg.StopSignal = c.Signal
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
	case *instructions.HealthCheckCommand:
		cfg.Healthcheck = c.Health
	case *instructions.ShellCommand:
		cfg.Shell = slices.Clone(c.Shell)
	default:
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("%s is not a valid change command", strings.ToUpper(cmd.Name())))
	}
	return nil
}

// DefaultShell is what shell-form commands run through unless SHELL says
// otherwise.
var DefaultShell = []string{"/bin/sh", "-c"}

func commandLine(cfg *dockerspec.DockerOCIImageConfig, line instructions.ShellDependantCmdLine) []string {
	if !line.PrependShell {
		return slices.Clone(line.CmdLine)
	}
	shell := DefaultShell
	if len(cfg.Shell) > 0 {
		shell = cfg.Shell
	}
	return append(slices.Clone(shell), strings.Join(line.CmdLine, " "))
}

// setEnv sets key=value in env, replacing an earlier value of key.
func setEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

// expandPorts turns an EXPOSE word ("80", "53/udp", "8000-8002/tcp") into
// Docker's "port/proto" keys.
func expandPorts(word string) ([]string, error) {
	portRange, proto, _ := strings.Cut(word, "/")
	if proto == "" {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid port %q: unknown protocol %q", word, proto))
	}
	lo, hi, isRange := strings.Cut(portRange, "-")
	first, err := parsePort(lo)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid port %q: %v", word, err))
	}
	last := first
	if isRange {
		if last, err = parsePort(hi); err != nil || last < first {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid port range %q", word))
		}
	}
	var ports []string
	for p := first; p <= last; p++ {
		ports = append(ports, strconv.Itoa(p)+"/"+proto)
	}
	return ports, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 0 || p > 65535 {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	return p, nil
}
