package build

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/image"
)

// dispatch runs one instruction of a stage.
func (r *run) dispatch(ctx context.Context, st *stageState, cmd instructions.Command) error {
	if x, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		if _, isRun := cmd.(*instructions.RunCommand); !isRun { // a RUN's shell expands its own
			if err := x.Expand(func(word string) (string, error) { return r.expand(word, st.scope()) }); err != nil {
				return err
			}
		}
	}
	switch c := cmd.(type) {
	case *instructions.RunCommand:
		return r.runStep(ctx, st, c)
	case *instructions.CopyCommand:
		return r.copyStep(ctx, st, copyStep{name: "COPY", sd: c.SourcesAndDest, from: c.From, chown: c.Chown})
	case *instructions.AddCommand:
		return r.copyStep(ctx, st, copyStep{name: "ADD", sd: c.SourcesAndDest, chown: c.Chown, unpack: true})
	case *instructions.WorkdirCommand:
		if err := image.ApplyConfigInstruction(&st.config, c); err != nil {
			return err
		}
		return r.workdirStep(ctx, st, nop(c))
	case *instructions.ArgCommand:
		if err := r.declareArgs(st, c); err != nil {
			return err
		}
		return r.commitConfig(ctx, st, nop(c))
	case *instructions.MaintainerCommand:
		st.author = c.Maintainer
		return r.commitConfig(ctx, st, nop(c))
	case *instructions.ExposeCommand:
		for i, p := range c.Ports {
			var err error
			if c.Ports[i], err = r.expand(p, st.scope()); err != nil {
				return err
			}
		}
	}
	if err := image.ApplyConfigInstruction(&st.config, cmd); err != nil {
		return err
	}
	return r.commitConfig(ctx, st, nop(cmd))
}

// nop is the history's description of a step that runs nothing, in the
// classic builder's words.
func nop(cmd instructions.Command) string {
	return "/bin/sh -c #(nop)  " + fmt.Sprint(cmd)
}

// declareArgs adds an ARG's variables to the stage, with the value given
// by --build-arg, else the default, else the one of the ARG of that name
// before the first FROM.
func (r *run) declareArgs(st *stageState, c *instructions.ArgCommand) error {
	for _, kv := range c.Args {
		value, ok, err := r.argValue(kv, st.scope())
		if err != nil {
			return err
		}
		if !ok {
			if value, ok = lookupEnv(r.meta, kv.Key); !ok {
				continue
			}
		}
		st.args = setVar(st.args, kv.Key, value)
	}
	return nil
}

func lookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(env[i], "="); k == key {
			return v, true
		}
	}
	return "", false
}

func setVar(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

// commitConfig makes the image of a step that changes the config only.
func (r *run) commitConfig(ctx context.Context, st *stageState, createdBy string) error {
	key := stepKey("config", createdBy, configKey(st))
	if r.useCache(ctx, st, key) {
		return nil
	}
	id, err := r.b.cfg.Images.CreateChild(ctx, image.ChildOptions{
		Parent: st.image, Config: st.config, CreatedBy: createdBy, Author: st.author,
	})
	if err != nil {
		return err
	}
	return r.stepDone(ctx, st, key, id)
}

// configKey is the part of a step's cache key that its resulting config
// and author make.
func configKey(st *stageState) string {
	raw, err := json.Marshal(struct {
		Config any
		Author string
	}{st.config, st.author})
	if err != nil {
		panic(fmt.Sprintf("encode image config: %v", err)) // plain data: cannot fail
	}
	return string(raw)
}

// useCache moves st to the cached image of the step with key, if there is
// one and the cache is on.
func (r *run) useCache(ctx context.Context, st *stageState, key string) bool {
	if r.opts.NoCache {
		return false
	}
	id, err := r.b.cache.lookup(ctx, st.image, key)
	if err != nil {
		r.b.log.Warn("build cache lookup", "err", err)
		return false
	}
	if id == "" {
		return false
	}
	st.image = id
	r.out.println(" ---> Using cache")
	r.out.println(" ---> " + image.ShortID(id))
	return true
}

// stepDone records the step's image in the cache and moves st to it.
func (r *run) stepDone(ctx context.Context, st *stageState, key string, id digest.Digest) error {
	if err := r.b.cache.store(ctx, st.image, key, id); err != nil {
		return err
	}
	st.image = id
	r.out.println(" ---> " + image.ShortID(id))
	return nil
}

// parseTrigger parses an ONBUILD trigger, an instruction of its own.
func parseTrigger(text string) (instructions.Command, error) {
	res, err := parser.Parse(strings.NewReader(text))
	if err != nil {
		return nil, invalid("ONBUILD trigger %q: %v", text, err)
	}
	if len(res.AST.Children) != 1 {
		return nil, invalid("ONBUILD trigger %q is not one instruction", text)
	}
	cmd, err := instructions.ParseCommand(res.AST.Children[0])
	if err != nil {
		return nil, invalid("ONBUILD trigger %q: %v", text, err)
	}
	if err := classicOnly(cmd); err != nil {
		return nil, invalid("ONBUILD trigger %q: %v", text, err)
	}
	return cmd, nil
}
