package cli

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type searchOptions struct {
	term    string
	limit   int
	filter  filterFlag
	noTrunc bool
	format  string
}

func newSearchCommand(cc *cliContext) *cobra.Command {
	var opts searchOptions
	cmd := &cobra.Command{
		Use:   "search [OPTIONS] TERM",
		Short: "Search Docker Hub for images",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.term = args[0]
			return runSearch(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.VarP(&opts.filter, "filter", "f", "Filter output based on conditions provided")
	flags.StringVar(&opts.format, "format", "", "Pretty-print search using a Go template")
	flags.IntVar(&opts.limit, "limit", 0, "Max number of search results")
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	return cmd
}

// searchTableFormat is docker search's default format.
const searchTableFormat = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}"

// searchHeaders are the column titles of the fields a search row offers.
var searchHeaders = map[string]string{
	"Name":        "NAME",
	"Description": "DESCRIPTION",
	"StarCount":   "STARS",
	"IsOfficial":  "OFFICIAL",
}

// descriptionWidth is how much of a description the default table shows.
const descriptionWidth = 45

// runSearch asks the daemon to search and prints the results in the
// order it gives them, as docker search does. A limit of 0 is not sent:
// the daemon's default (25) applies.
func runSearch(ctx context.Context, cc *cliContext, opts searchOptions) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	res, err := api.ImageSearch(ctx, opts.term, client.ImageSearchOptions{
		RegistryAuth: anonymousRegistryAuth,
		Filters:      opts.filter.value(),
		Limit:        opts.limit,
	})
	if err != nil {
		return err
	}
	format := opts.format
	if format == "" || format == tableFormat {
		format = searchTableFormat
	}
	rows := make([]*searchRow, 0, len(res.Items))
	for _, item := range res.Items {
		rows = append(rows, &searchRow{result: item, trunc: !opts.noTrunc})
	}
	return writeRows(cc.stdout, parseOutputFormat(format), searchHeaders, rows)
}

// searchRow is one result of `skiff search`; its methods are the fields
// --format templates can use.
type searchRow struct {
	result registry.SearchResult
	trunc  bool
	json   bool // rendering for --format json: booleans as true/false
}

func (r *searchRow) Name() string { return r.result.Name }

// Description is on one line, cut to descriptionWidth unless --no-trunc.
func (r *searchRow) Description() string {
	d := strings.NewReplacer("\n", " ", "\r", " ").Replace(r.result.Description)
	if r.trunc {
		return ellipsis(d, descriptionWidth)
	}
	return d
}

func (r *searchRow) StarCount() string { return strconv.Itoa(r.result.StarCount) }

// IsOfficial is "[OK]" for an official image and empty otherwise.
func (r *searchRow) IsOfficial() string {
	switch {
	case r.json:
		return strconv.FormatBool(r.result.IsOfficial)
	case r.result.IsOfficial:
		return "[OK]"
	}
	return ""
}

// MarshalJSON renders the row for --format json, as docker does.
func (r *searchRow) MarshalJSON() ([]byte, error) {
	row := *r
	row.json = true
	return json.Marshal(map[string]string{
		"Name":        row.Name(),
		"Description": row.Description(),
		"StarCount":   row.StarCount(),
		"IsOfficial":  row.IsOfficial(),
	})
}
