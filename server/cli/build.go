package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
)

// `skiff build`, as `DOCKER_BUILDKIT=0 docker build`: the same flags, the
// same context, the same output.

type buildOptions struct {
	context    string // PATH or "-"
	tags       []string
	dockerfile string
	buildArgs  []string
	labels     []string
	target     string
	noCache    bool
	rm         bool
	forceRm    bool
	pull       bool
	quiet      bool
	platform   string
	iidfile    string
}

func newBuildCommand(cc *cliContext) *cobra.Command {
	var opts buildOptions
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] PATH | -",
		Short: "Build an image from a Dockerfile",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.context = args[0]
			return runBuild(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringArrayVarP(&opts.tags, "tag", "t", nil, `Name and optionally a tag in the "name:tag" format`)
	flags.StringVarP(&opts.dockerfile, "file", "f", "", `Name of the Dockerfile (Default is "PATH/Dockerfile")`)
	flags.StringArrayVar(&opts.buildArgs, "build-arg", nil, "Set build-time variables")
	flags.StringArrayVar(&opts.labels, "label", nil, "Set metadata for an image")
	flags.StringVar(&opts.target, "target", "", "Set the target build stage to build.")
	flags.BoolVar(&opts.noCache, "no-cache", false, "Do not use cache when building the image")
	flags.BoolVar(&opts.rm, "rm", true, "Remove intermediate containers after a successful build")
	flags.BoolVar(&opts.forceRm, "force-rm", false, "Always remove intermediate containers")
	flags.BoolVar(&opts.pull, "pull", false, "Always attempt to pull a newer version of the image")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress the build output and print image ID on success")
	flags.StringVar(&opts.platform, "platform", "", "Set platform if server is multi-platform capable")
	flags.StringVar(&opts.iidfile, "iidfile", "", "Write the image ID to the file")
	return cmd
}

func runBuild(ctx context.Context, cc *cliContext, opts buildOptions) error {
	if opts.iidfile != "" {
		// No stale ID may survive a failed build.
		if err := os.Remove(opts.iidfile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing image ID file: %w", err)
		}
	}
	apiOpts, err := buildAPIOptions(cc, opts)
	if err != nil {
		return err
	}
	bctx, err := openBuildContext(cc.stdin, opts.context, opts.dockerfile)
	if err != nil {
		return err
	}
	defer bctx.tar.Close()
	apiOpts.Dockerfile = bctx.dockerfile

	api, err := cc.daemon()
	if err != nil {
		return err
	}
	// Quiet keeps the output aside, to show it only if the build fails.
	progressOut, buildOut := cc.stdout, cc.stdout
	var progressBuf, buildBuf bytes.Buffer
	if opts.quiet {
		progressOut, buildOut = &progressBuf, &buildBuf
	}
	body := &contextProgress{r: bctx.tar, out: progressOut, terminal: cc.stdoutIsTerminal && !opts.quiet}
	resp, err := api.ImageBuild(ctx, body, apiOpts)
	if err != nil {
		if opts.quiet {
			fmt.Fprint(cc.stderr, progressBuf.String())
		}
		return err
	}
	defer resp.Body.Close()

	imageID, err := printBuildStream(resp.Body, buildOut)
	if err != nil {
		if opts.quiet {
			fmt.Fprintf(cc.stderr, "%s%s", progressBuf.String(), buildBuf.String())
		}
		return err
	}
	if opts.quiet {
		// The daemon's only message was the image ID.
		imageID = strings.TrimSpace(buildBuf.String())
		if _, err := buildBuf.WriteTo(cc.stdout); err != nil {
			return err
		}
	}
	if opts.iidfile != "" {
		if imageID == "" {
			//lint:ignore ST1005 docker's wording
			return fmt.Errorf("Server did not provide an image ID. Cannot write %s", opts.iidfile)
		}
		if err := os.WriteFile(opts.iidfile, []byte(imageID), 0o666); err != nil {
			return err
		}
	}
	return nil
}

// buildAPIOptions turns the flags into the API's options.
func buildAPIOptions(cc *cliContext, opts buildOptions) (client.ImageBuildOptions, error) {
	apiOpts := client.ImageBuildOptions{
		Tags:           opts.tags,
		SuppressOutput: opts.quiet,
		NoCache:        opts.noCache,
		Remove:         opts.rm,
		ForceRemove:    opts.forceRm,
		PullParent:     opts.pull,
		Target:         opts.target,
		BuildArgs:      map[string]*string{},
		Labels:         map[string]string{},
		// docker sends its (here empty) credentials: "{}".
		AuthConfigs: map[string]registry.AuthConfig{},
		Version:     build.BuilderV1,
	}
	for _, arg := range opts.buildArgs {
		name, value, hasValue := strings.Cut(arg, "=")
		if name == "" {
			return apiOpts, fmt.Errorf("invalid argument %q for \"--build-arg\" flag: invalid environment variable: %s", arg, arg)
		}
		switch {
		case hasValue:
			apiOpts.BuildArgs[name] = &value
		case cc.getenv(name) != "":
			// A bare name takes its value from the environment, if set.
			env := cc.getenv(name)
			apiOpts.BuildArgs[name] = &env
		default:
			apiOpts.BuildArgs[name] = nil
		}
	}
	for _, label := range opts.labels {
		name, value, _ := strings.Cut(label, "=")
		apiOpts.Labels[name] = value
	}
	if opts.platform != "" {
		p, err := parsePlatform(opts.platform)
		if err != nil {
			return apiOpts, err
		}
		apiOpts.Platforms = []ocispec.Platform{p}
	}
	return apiOpts, nil
}

// parsePlatform reads os/arch[/variant]; the daemon judges whether it can
// build for it.
func parsePlatform(s string) (ocispec.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) > 3 || slices.Contains(parts, "") {
		return ocispec.Platform{}, fmt.Errorf("invalid platform %q: use os/arch[/variant]", s)
	}
	p := ocispec.Platform{OS: parts[0]}
	if len(parts) > 1 {
		p.Architecture = parts[1]
	}
	if len(parts) > 2 {
		p.Variant = parts[2]
	}
	return p, nil
}

// printBuildStream prints a build's JSON stream as docker does: "stream"
// text as it comes. It returns the image ID from the "aux" message, or the
// build's error, which ends the run with the message and exit code 1 (or
// the code the daemon gave).
func printBuildStream(stream io.Reader, out io.Writer) (string, error) {
	var imageID string
	decoder := json.NewDecoder(stream)
	for {
		var msg jsonstream.Message
		err := decoder.Decode(&msg)
		if errors.Is(err, io.EOF) {
			return imageID, nil
		}
		if err != nil {
			return imageID, fmt.Errorf("reading the daemon's build output: %w", err)
		}
		if msg.Error != nil {
			return imageID, statusError{code: max(msg.Error.Code, exitFailure), message: msg.Error.Message}
		}
		if msg.Aux != nil {
			var result build.Result
			if err := json.Unmarshal(*msg.Aux, &result); err == nil {
				imageID = result.ID
			}
			continue
		}
		if err := printJSONMessage(out, msg); err != nil {
			return imageID, err
		}
	}
}
