package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/skiff-dev/skiff/server/wire"
)

// `skiff builds`: the builds the daemon recorded, their logs, and
// cancelling one. Docker's legacy builder keeps no such record; these
// speak skiff's own /skiff/builds endpoints.

const buildsPath = "/skiff/builds"

type buildsOptions struct {
	quiet   bool
	noTrunc bool
	format  string
}

func newBuildsCommand(cc *cliContext) *cobra.Command {
	var opts buildsOptions
	cmd := &cobra.Command{
		Use:   "builds [OPTIONS] [COMMAND]",
		Short: "List builds; show a build's log or cancel it",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBuilds(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display build IDs")
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	flags.StringVar(&opts.format, "format", "", formatHelp)
	cmd.AddCommand(newBuildsLogsCommand(cc), newBuildsCancelCommand(cc))
	return cmd
}

const buildsTableFormat = "table {{.ID}}\t{{.Status}}\t{{.Tags}}\t{{.Image}}\t{{.Started}}\t{{.Duration}}"

var buildsHeaders = labelHeaders{
	"ID":       "ID",
	"Status":   "STATUS",
	"Tags":     "TAGS",
	"Image":    "IMAGE",
	"Started":  "STARTED",
	"Duration": "DURATION",
	"Error":    "ERROR",
}

func runBuilds(ctx context.Context, cc *cliContext, opts buildsOptions) error {
	var list []wire.Build
	if err := cc.getJSON(ctx, buildsPath, &list); err != nil {
		return err
	}
	format := listFormat(opts.quiet, opts.format, "{{.ID}}", buildsTableFormat)
	rows := make([]*buildRow, len(list))
	for i, b := range list {
		rows[i] = &buildRow{b: b, trunc: !opts.noTrunc, now: cc.now()}
	}
	return writeRows(cc.stdout, format, buildsHeaders, rows)
}

// buildRow is one line of `skiff builds`; its methods are the fields
// --format templates can use.
type buildRow struct {
	b     wire.Build
	trunc bool
	now   time.Time
}

func (r *buildRow) ID() string {
	if r.trunc {
		return truncateString(r.b.ID, 12)
	}
	return r.b.ID
}

func (r *buildRow) Status() string { return r.b.Status }

// Tags are the names given with -t, or <none>.
func (r *buildRow) Tags() string {
	if len(r.b.Tags) == 0 {
		return "<none>"
	}
	return strings.Join(r.b.Tags, ", ")
}

// Image is the result's ID, empty unless the build succeeded.
func (r *buildRow) Image() string {
	if r.trunc {
		return shortID(r.b.ImageID)
	}
	return r.b.ImageID
}

// Started is how long ago the build began, e.g. "2 minutes ago".
func (r *buildRow) Started() string {
	return units.HumanDuration(r.now.Sub(r.b.Started)) + " ago"
}

// Duration is how long the build took, or has taken so far: to the
// millisecond under a second (a cached build takes a few dozen), to a
// tenth of a second under a minute, to the second above.
func (r *buildRow) Duration() string {
	end := r.b.Finished
	if end.IsZero() {
		end = r.now
	}
	d := end.Sub(r.b.Started)
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func (r *buildRow) Error() string { return r.b.Error }

func newBuildsLogsCommand(cc *cliContext) *cobra.Command {
	return &cobra.Command{
		Use:   "logs BUILD",
		Short: "Print a build's output: all of it so far, then live until it ends",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuildsLogs(cmd.Context(), cc, args[0])
		},
	}
}

// runBuildsLogs prints a build's output as `skiff build` did, its failure
// included: the message on stderr and exit status 1.
func runBuildsLogs(ctx context.Context, cc *cliContext, ref string) error {
	id, err := resolveBuild(ctx, cc, ref)
	if err != nil {
		return err
	}
	resp, err := cc.skiffRequest(ctx, http.MethodGet, buildsPath+"/"+url.PathEscape(id)+"/logs")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = printBuildStream(resp.Body, cc.stdout)
	return err
}

func newBuildsCancelCommand(cc *cliContext) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel BUILD",
		Short: "Cancel a running build",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuildsCancel(cmd.Context(), cc, args[0])
		},
	}
}

func runBuildsCancel(ctx context.Context, cc *cliContext, ref string) error {
	id, err := resolveBuild(ctx, cc, ref)
	if err != nil {
		return err
	}
	resp, err := cc.skiffRequest(ctx, http.MethodDelete, buildsPath+"/"+url.PathEscape(id))
	if err != nil {
		return err
	}
	resp.Body.Close()
	_, err = fmt.Fprintln(cc.stdout, ref)
	return err
}

// resolveBuild finds the build whose ID is ref or starts with it, as the
// table shows IDs cut to 12 characters.
func resolveBuild(ctx context.Context, cc *cliContext, ref string) (string, error) {
	var list []wire.Build
	if err := cc.getJSON(ctx, buildsPath, &list); err != nil {
		return "", err
	}
	var found []string
	for _, b := range list {
		if b.ID == ref {
			return ref, nil
		}
		if strings.HasPrefix(b.ID, ref) {
			found = append(found, b.ID)
		}
	}
	switch {
	case ref == "" || len(found) == 0:
		return "", fmt.Errorf("no such build: %s", ref)
	case len(found) > 1:
		return "", fmt.Errorf("build ID %s is ambiguous: %d builds match", ref, len(found))
	}
	return found[0], nil
}
