package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/skiff-dev/skiff/server/wire"
)

type systemOptions struct {
	format string
}

func newVersionCommand(cc *cliContext) *cobra.Command {
	var opts systemOptions
	cmd := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the skiff version information",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVersion(cmd.Context(), cc, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", inspectFormatHelp)
	return cmd
}

// versionInfo is what `skiff version` shows, and what --format templates see.
type versionInfo struct {
	Client clientVersion
	Server *system.VersionResponse `json:",omitempty"`
}

type clientVersion struct {
	Version           string
	APIVersion        string `json:"ApiVersion"`
	DefaultAPIVersion string
	GoVersion         string
	GitCommit         string `json:",omitempty"`
	BuildTime         string `json:",omitempty"`
	Os                string
	Arch              string
}

// runVersion prints the client's version and the daemon's. When the daemon
// cannot be reached the client part is still printed before the error.
func runVersion(ctx context.Context, cc *cliContext, opts systemOptions) error {
	tmpl, err := parseFormatFlag(opts.format)
	if err != nil {
		return err
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	server, serverErr := fetchServerVersion(ctx, cc, api)
	info := versionInfo{Client: newClientVersion(cc.version, api.ClientVersion()), Server: server}

	if tmpl != nil {
		err = executeLine(cc.stdout, tmpl, info)
	} else {
		err = printVersion(cc.stdout, info)
	}
	if serverErr != nil {
		return serverErr // the more useful error when both failed
	}
	return err
}

// fetchServerVersion negotiates the API version, then reads GET /version
// directly: the typed client drops its Go version, commit, build time and
// kernel fields.
func fetchServerVersion(ctx context.Context, cc *cliContext, api *client.Client) (*system.VersionResponse, error) {
	if _, err := api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return nil, err
	}
	var version system.VersionResponse
	if err := cc.getJSON(ctx, "/version", &version); err != nil {
		return nil, err
	}
	return &version, nil
}

// newClientVersion describes this binary; apiVersion is the API version in
// use, negotiated with the daemon when it could be reached.
func newClientVersion(version, apiVersion string) clientVersion {
	v := clientVersion{
		Version:           version,
		APIVersion:        apiVersion,
		DefaultAPIVersion: wire.APIVersion,
		GoVersion:         runtime.Version(),
		Os:                runtime.GOOS,
		Arch:              runtime.GOARCH,
	}
	if build, ok := debug.ReadBuildInfo(); ok {
		for _, setting := range build.Settings {
			switch setting.Key {
			case "vcs.revision":
				v.GitCommit = setting.Value[:min(7, len(setting.Value))]
			case "vcs.time":
				v.BuildTime = reformatBuildTime(setting.Value)
			}
		}
	}
	return v
}

// printVersion lays out versions the way `docker version` does.
func printVersion(out io.Writer, info versionInfo) error {
	tw := tabwriter.NewWriter(out, 20, 1, 1, ' ', 0)
	c := info.Client
	fmt.Fprintln(tw, "Client:")
	fmt.Fprintf(tw, " Version:\t%s\n", c.Version)
	if c.APIVersion != c.DefaultAPIVersion {
		fmt.Fprintf(tw, " API version:\t%s (downgraded from %s)\n", c.APIVersion, c.DefaultAPIVersion)
	} else {
		fmt.Fprintf(tw, " API version:\t%s\n", c.APIVersion)
	}
	fmt.Fprintf(tw, " Go version:\t%s\n", c.GoVersion)
	printIfSet(tw, " Git commit:\t%s\n", c.GitCommit)
	printIfSet(tw, " Built:\t%s\n", c.BuildTime)
	fmt.Fprintf(tw, " OS/Arch:\t%s/%s\n", c.Os, c.Arch)
	if info.Server != nil {
		printServerVersion(tw, *info.Server)
	}
	return tw.Flush()
}

func printServerVersion(w io.Writer, v system.VersionResponse) {
	fmt.Fprintln(w)
	if v.Platform.Name != "" {
		fmt.Fprintln(w, "Server:", v.Platform.Name)
	} else {
		fmt.Fprintln(w, "Server:")
	}
	engine, others := engineComponent(v)
	d := engine.Details
	fmt.Fprintln(w, " Engine:")
	fmt.Fprintf(w, "  Version:\t%s\n", engine.Version)
	fmt.Fprintf(w, "  API version:\t%s (minimum version %s)\n", d["ApiVersion"], d["MinAPIVersion"])
	fmt.Fprintf(w, "  Go version:\t%s\n", d["GoVersion"])
	fmt.Fprintf(w, "  Git commit:\t%s\n", d["GitCommit"])
	fmt.Fprintf(w, "  Built:\t%s\n", reformatBuildTime(d["BuildTime"]))
	fmt.Fprintf(w, "  OS/Arch:\t%s/%s\n", d["Os"], d["Arch"])
	printIfSet(w, "  Kernel Version:\t%s\n", d["KernelVersion"])
	fmt.Fprintf(w, "  Experimental:\t%s\n", d["Experimental"])
	for _, component := range others {
		fmt.Fprintf(w, " %s:\n", component.Name)
		fmt.Fprintf(w, "  Version:\t%s\n", component.Version)
		for _, key := range slices.Sorted(maps.Keys(component.Details)) {
			fmt.Fprintf(w, "  %s:\t%s\n", key, component.Details[key])
		}
	}
}

// engineComponent returns the daemon's "Engine" component, built from the
// top-level fields when the daemon lists no components, and the others.
func engineComponent(v system.VersionResponse) (system.ComponentVersion, []system.ComponentVersion) {
	var others []system.ComponentVersion
	engine := system.ComponentVersion{
		Name:    "Engine",
		Version: v.Version,
		Details: map[string]string{
			"ApiVersion":    v.APIVersion,
			"MinAPIVersion": v.MinAPIVersion,
			"GitCommit":     v.GitCommit,
			"GoVersion":     v.GoVersion,
			"Os":            v.Os,
			"Arch":          v.Arch,
			"KernelVersion": v.KernelVersion,
			"BuildTime":     v.BuildTime,
			"Experimental":  fmt.Sprint(v.Experimental),
		},
	}
	for _, component := range v.Components {
		if component.Name == "Engine" {
			engine = component
			continue
		}
		others = append(others, component)
	}
	return engine, others
}

// reformatBuildTime shows an RFC 3339 build time as docker does
// ("Thu Jan  2 03:04:05 2025"); other values are shown unchanged.
func reformatBuildTime(buildTime string) string {
	if t, err := time.Parse(time.RFC3339Nano, buildTime); err == nil {
		return t.Format(time.ANSIC)
	}
	return buildTime
}

func newInfoCommand(cc *cliContext) *cobra.Command {
	var opts systemOptions
	cmd := &cobra.Command{
		Use:   "info [OPTIONS]",
		Short: "Display system-wide information",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInfo(cmd.Context(), cc, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.format, "format", "f", "", inspectFormatHelp)
	return cmd
}

// runInfo prints a docker-style summary of the daemon, or executes --format
// over the daemon's GET /info answer.
func runInfo(ctx context.Context, cc *cliContext, opts systemOptions) error {
	tmpl, err := parseFormatFlag(opts.format)
	if err != nil {
		return err
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	res, err := api.Info(ctx, client.InfoOptions{})
	if tmpl != nil {
		if err != nil {
			return err
		}
		return executeLine(cc.stdout, tmpl, res.Info)
	}

	fmt.Fprintln(cc.stdout, "Client:")
	fmt.Fprintln(cc.stdout, " Version:   ", cc.version)
	fmt.Fprintln(cc.stdout)
	fmt.Fprintln(cc.stdout, "Server:")
	if err != nil {
		fmt.Fprintln(cc.stderr, "ERROR:", cc.explain(err))
		return errors.New("errors pretty printing info")
	}
	printServerInfo(cc.stdout, res.Info)
	for _, warning := range res.Info.Warnings {
		fmt.Fprintln(cc.stderr, warning)
	}
	return nil
}

// printServerInfo prints the daemon's side of `skiff info`, with docker's
// labels so that users recognise them.
func printServerInfo(out io.Writer, info system.Info) {
	fmt.Fprintln(out, " Containers:", info.Containers)
	fmt.Fprintln(out, "  Running:", info.ContainersRunning)
	fmt.Fprintln(out, "  Paused:", info.ContainersPaused)
	fmt.Fprintln(out, "  Stopped:", info.ContainersStopped)
	fmt.Fprintln(out, " Images:", info.Images)
	printIfSet(out, " Server Version: %s\n", info.ServerVersion)
	printIfSet(out, " Storage Driver: %s\n", info.Driver)
	for _, pair := range info.DriverStatus {
		fmt.Fprintf(out, "  %s: %s\n", pair[0], pair[1])
	}
	printIfSet(out, " Logging Driver: %s\n", info.LoggingDriver)
	printIfSet(out, " Cgroup Driver: %s\n", info.CgroupDriver)
	printIfSet(out, " Cgroup Version: %s\n", info.CgroupVersion)
	printIfSet(out, " Kernel Version: %s\n", info.KernelVersion)
	printIfSet(out, " Operating System: %s\n", info.OperatingSystem)
	printIfSet(out, " OSType: %s\n", info.OSType)
	printIfSet(out, " Architecture: %s\n", info.Architecture)
	fmt.Fprintln(out, " CPUs:", info.NCPU)
	fmt.Fprintln(out, " Total Memory:", units.BytesSize(float64(info.MemTotal)))
	printIfSet(out, " Name: %s\n", info.Name)
	printIfSet(out, " ID: %s\n", info.ID)
	fmt.Fprintln(out, " Docker Root Dir:", info.DockerRootDir)
	fmt.Fprintln(out, " Debug Mode:", info.Debug)
	if len(info.Labels) > 0 {
		fmt.Fprintln(out, " Labels:")
		for _, label := range info.Labels {
			fmt.Fprintln(out, "  "+label)
		}
	}
	printRegistryConfig(out, info.RegistryConfig)
	fmt.Fprintln(out)
}

// printRegistryConfig prints the insecure registries (hosts, then CIDRs)
// and Docker Hub's mirrors, as docker info does; hosts sorted, where
// docker's order varies.
func printRegistryConfig(out io.Writer, rc *registry.ServiceConfig) {
	if rc == nil {
		return
	}
	if len(rc.InsecureRegistryCIDRs) > 0 || len(rc.IndexConfigs) > 0 {
		fmt.Fprintln(out, " Insecure Registries:")
		var hosts []string
		for _, index := range rc.IndexConfigs {
			if !index.Secure {
				hosts = append(hosts, index.Name)
			}
		}
		slices.Sort(hosts)
		for _, host := range hosts {
			fmt.Fprintln(out, "  "+host)
		}
		for _, cidr := range rc.InsecureRegistryCIDRs {
			fmt.Fprintln(out, "  "+cidr.String())
		}
	}
	if len(rc.Mirrors) > 0 {
		fmt.Fprintln(out, " Registry Mirrors:")
		for _, mirror := range rc.Mirrors {
			fmt.Fprintln(out, "  "+mirror)
		}
	}
}

// printIfSet prints a one-value line only when the value is not empty.
func printIfSet(w io.Writer, format, value string) {
	if value != "" {
		fmt.Fprintf(w, format, value)
	}
}

// parseFormatFlag parses the --format value of commands that print one
// object: "json" or a Go template; it returns nil when format is empty.
func parseFormatFlag(format string) (*template.Template, error) {
	switch format {
	case "":
		return nil, nil
	case jsonFormat:
		format = "{{json .}}"
	}
	return parseUserTemplate(format)
}

// executeLine executes tmpl over data and ends the output with a newline.
func executeLine(out io.Writer, tmpl *template.Template, data any) error {
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}
	b.WriteByte('\n')
	_, err := io.WriteString(out, b.String())
	return err
}
