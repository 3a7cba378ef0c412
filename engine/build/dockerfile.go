package build

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// dockerfile is a parsed Dockerfile: its stages, the ARGs before the first
// FROM, and the escape character its directive chose.
type dockerfile struct {
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	lex      *shell.Lex
	warnings []string
}

// parseDockerfile parses text with buildkit's parser, refusing what the
// classic builder does not do (heredocs, RUN --mount and the like) with an
// error naming the line.
func parseDockerfile(text []byte) (*dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(text))
	if err != nil {
		return nil, invalid("dockerfile parse error: %v", err)
	}
	for _, n := range res.AST.Children {
		if len(n.Heredocs) > 0 {
			return nil, invalid("dockerfile parse error on line %d: heredocs (<<%s) are not supported by skiff's classic builder", n.StartLine, n.Heredocs[0].Name)
		}
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, invalid("%v", err)
	}
	if len(stages) == 0 {
		return nil, invalid("the Dockerfile has no FROM instruction")
	}
	for _, s := range stages {
		for _, cmd := range s.Commands {
			if err := classicOnly(cmd); err != nil {
				return nil, invalid("dockerfile parse error on line %d: %v", lineOf(cmd), err)
			}
		}
	}
	df := &dockerfile{stages: stages, metaArgs: metaArgs, lex: shell.NewLex(res.EscapeToken)}
	for _, w := range res.Warnings {
		df.warnings = append(df.warnings, w.Short)
	}
	return df, nil
}

// classicOnly refuses the flags of BuildKit-only features: the classic
// builder that skiff implements has no equivalent for them.
func classicOnly(cmd instructions.Command) error {
	needsBuildKit := func(flag string) error {
		return fmt.Errorf("%s %s needs BuildKit, which skiff's classic builder does not implement", strings.ToUpper(cmd.Name()), flag)
	}
	switch c := cmd.(type) {
	case *instructions.RunCommand:
		if len(c.FlagsUsed) > 0 {
			return needsBuildKit("--" + c.FlagsUsed[0])
		}
	case *instructions.CopyCommand:
		switch {
		case c.Chmod != "":
			return needsBuildKit("--chmod")
		case c.Link:
			return needsBuildKit("--link")
		case c.Parents:
			return needsBuildKit("--parents")
		case len(c.ExcludePatterns) > 0:
			return needsBuildKit("--exclude")
		}
	case *instructions.AddCommand:
		switch {
		case c.Chmod != "":
			return needsBuildKit("--chmod")
		case c.Link:
			return needsBuildKit("--link")
		case c.Checksum != "":
			return needsBuildKit("--checksum")
		case c.KeepGitDir != nil:
			return needsBuildKit("--keep-git-dir")
		case c.Unpack != nil:
			return needsBuildKit("--unpack")
		case len(c.ExcludePatterns) > 0:
			return needsBuildKit("--exclude")
		}
	}
	return nil
}

// target returns the index of the stage to build: the one named target, or
// the last.
func (df *dockerfile) target(target string) (int, error) {
	if target == "" {
		return len(df.stages) - 1, nil
	}
	for i, s := range df.stages {
		if strings.EqualFold(s.Name, target) {
			return i, nil
		}
	}
	return 0, invalid("failed to reach build target %s in Dockerfile", target)
}

// lineOf is the Dockerfile line an instruction starts on.
func lineOf(cmd interface{ Location() []parser.Range }) int {
	if loc := cmd.Location(); len(loc) > 0 {
		return loc[0].Start.Line
	}
	return 0
}

func invalid(format string, args ...any) error {
	return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(format, args...))
}
