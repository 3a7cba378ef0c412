package build

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/build/copier"
	"github.com/skiff-dev/skiff/engine/image"
)

// run is one build being executed.
type run struct {
	b          *Builder
	opts       Options
	df         *dockerfile
	dir        string // the build's scratch directory
	contextDir string
	context    *copier.Root
	out        *messageLog
	build      *Build

	stages      []*stageState // the stages built so far
	meta        []string      // the ARGs before the first FROM, as k=v
	usedArgs    map[string]bool
	step, steps int
	scratch     int // numbers the steps' scratch directories
}

// stageState is where a stage's build stands: the image its last step
// made and that image's config.
type stageState struct {
	name   string
	image  digest.Digest // "" while a FROM scratch stage has no step yet
	config dockerspec.DockerOCIImageConfig
	author string
	args   []string // the ARGs declared in the stage, as k=v
}

// execute builds the stages up to the target and tags the result.
func (r *run) execute(ctx context.Context) (digest.Digest, error) {
	for _, w := range r.df.warnings {
		r.out.println("[WARNING]: " + w)
	}
	target, err := r.df.target(r.opts.Target)
	if err != nil {
		return "", err
	}
	stages := slices.Clone(r.df.stages[:target+1])
	if len(r.opts.Labels) > 0 {
		// As the classic builder: --label values are a last LABEL step.
		last := &stages[target]
		last.Commands = slices.Clone(last.Commands)
		for _, k := range slices.Sorted(maps.Keys(r.opts.Labels)) {
			last.Commands = append(last.Commands, instructions.NewLabelCommand(k, r.opts.Labels[k], true))
		}
	}
	for _, s := range stages {
		r.steps += 1 + len(s.Commands)
	}
	r.usedArgs = map[string]bool{}
	if r.meta, err = r.metaArgs(); err != nil {
		return "", err
	}
	if r.context, err = copier.OpenContext(r.contextDir); err != nil {
		return "", err
	}
	defer r.context.Close()

	var st *stageState
	for i := range stages {
		if st, err = r.buildStage(ctx, &stages[i]); err != nil {
			return "", err
		}
		r.stages = append(r.stages, st)
	}
	if st.image == "" {
		return "", invalid("No image was generated. Is your Dockerfile empty?")
	}
	r.warnUnusedArgs()
	r.out.println("Successfully built " + image.ShortID(st.image))
	for _, t := range r.opts.Tags {
		if err := r.b.cfg.Images.Tag(ctx, st.image.String(), t); err != nil {
			return "", err
		}
		tag, _ := image.ParseTag(t)
		r.out.println("Successfully tagged " + reference.FamiliarString(tag))
	}
	return st.image, nil
}

// buildStage runs a stage's FROM and its instructions.
func (r *run) buildStage(ctx context.Context, s *instructions.Stage) (*stageState, error) {
	r.stepHeader(s.SourceCode)
	st, err := r.from(ctx, s)
	if err != nil {
		line := 0
		if len(s.Location) > 0 {
			line = s.Location[0].Start.Line
		}
		return nil, atLine(line, err)
	}
	for _, cmd := range s.Commands {
		r.stepHeader(fmt.Sprint(cmd))
		if err := r.dispatch(ctx, st, cmd); err != nil {
			return nil, atLine(lineOf(cmd), err)
		}
	}
	return st, nil
}

func (r *run) stepHeader(text string) {
	r.step++
	r.out.println(fmt.Sprintf("Step %d/%d : %s", r.step, r.steps, text))
}

// from starts a stage from its base: an earlier stage, scratch or an image.
func (r *run) from(ctx context.Context, s *instructions.Stage) (*stageState, error) {
	base, err := r.expand(s.BaseName, r.meta)
	if err != nil {
		return nil, err
	}
	if s.Platform != "" {
		p, err := r.expand(s.Platform, r.meta)
		if err != nil {
			return nil, err
		}
		if err := checkPlatform(p); err != nil {
			return nil, err
		}
	}
	st := &stageState{name: s.Name}
	if prev := r.stageNamed(base); prev != nil {
		st.image, st.author, st.config = prev.image, prev.author, cloneConfig(prev.config)
	} else if !strings.EqualFold(base, "scratch") {
		img, err := r.b.cfg.Images.Inspect(ctx, base)
		if err != nil {
			return nil, err
		}
		st.image, st.author, st.config = img.ID, img.Config.Author, cloneConfig(img.Config.Config)
	}
	if st.image != "" {
		r.out.println(" ---> " + image.ShortID(st.image))
	}
	return st, r.runTriggers(ctx, st)
}

// stageNamed returns the built stage called name, if any.
func (r *run) stageNamed(name string) *stageState {
	for _, st := range r.stages {
		if st.name != "" && strings.EqualFold(st.name, name) {
			return st
		}
	}
	return nil
}

// runTriggers runs the base image's ONBUILD triggers, which the child
// image does not inherit.
func (r *run) runTriggers(ctx context.Context, st *stageState) error {
	triggers := st.config.OnBuild
	if len(triggers) == 0 {
		return nil
	}
	st.config.OnBuild = nil
	plural := "s"
	if len(triggers) == 1 {
		plural = ""
	}
	r.out.println(fmt.Sprintf("# Executing %d build trigger%s", len(triggers), plural))
	for _, t := range triggers {
		cmd, err := parseTrigger(t)
		if err != nil {
			return err
		}
		if err := r.dispatch(ctx, st, cmd); err != nil {
			return fmt.Errorf("ONBUILD trigger %q: %w", t, err)
		}
	}
	return nil
}

// metaArgs are the values of the ARGs before the first FROM, which FROM
// lines can use.
func (r *run) metaArgs() ([]string, error) {
	var env []string
	for _, a := range r.df.metaArgs {
		for _, kv := range a.Args {
			value, ok, err := r.argValue(kv, env)
			if err != nil {
				return nil, err
			}
			if ok {
				env = append(env, kv.Key+"="+value)
			}
		}
	}
	return env, nil
}

// argValue is an ARG's value: the --build-arg given for it, else its
// default expanded with env; ok is false when it has neither.
func (r *run) argValue(kv instructions.KeyValuePairOptional, env []string) (string, bool, error) {
	if v, given := r.opts.BuildArgs[kv.Key]; given && v != nil {
		r.usedArgs[kv.Key] = true
		return *v, true, nil
	}
	if kv.Value == nil {
		return "", false, nil
	}
	v, err := r.expand(*kv.Value, env)
	return v, err == nil, err
}

// expand substitutes variables of env in word, as the Dockerfile's shell
// words are.
func (r *run) expand(word string, env []string) (string, error) {
	out, _, err := r.df.lex.ProcessWord(word, shell.EnvsFromSlice(env))
	if err != nil {
		return "", invalid("%v", err)
	}
	return out, nil
}

// warnUnusedArgs reports --build-arg values no ARG declared, as Docker
// does.
func (r *run) warnUnusedArgs() {
	var unused []string
	for k := range r.opts.BuildArgs {
		if !r.usedArgs[k] {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		r.out.println(fmt.Sprintf("[Warning] One or more build-args %v were not consumed", unused))
	}
}

// scope is the variables an instruction of st can use: the stage's ARGs,
// overridden by its ENV.
func (st *stageState) scope() []string {
	return append(slices.Clone(st.args), st.config.Env...)
}

// buildArgEnv is what a RUN sees of the stage's ARGs: those ENV does not
// override, in the order declared.
func (st *stageState) buildArgEnv() []string {
	var env []string
	for _, kv := range st.args {
		k, _, _ := strings.Cut(kv, "=")
		if !hasEnv(st.config.Env, k) {
			env = append(env, kv)
		}
	}
	return env
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}

// cloneConfig copies a config deeply: a step changes its copy only.
func cloneConfig(c dockerspec.DockerOCIImageConfig) dockerspec.DockerOCIImageConfig {
	raw, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("encode image config: %v", err)) // plain data: cannot fail
	}
	var out dockerspec.DockerOCIImageConfig
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(fmt.Sprintf("decode image config: %v", err))
	}
	return out
}

// atLine names the Dockerfile line of a step's error.
func atLine(line int, err error) error {
	if line == 0 {
		return err
	}
	return &lineError{line: line, err: err}
}

type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("%v (Dockerfile line %d)", e.err, e.line) }
func (e *lineError) Unwrap() error { return e.err }
