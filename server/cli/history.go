package cli

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/image"
	"github.com/spf13/cobra"
)

type historyOptions struct {
	image   string
	human   bool
	quiet   bool
	noTrunc bool
	format  string
}

func newHistoryCommand(cc *cliContext) *cobra.Command {
	var opts historyOptions
	cmd := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.image = args[0]
			return runHistory(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.human, "human", "H", true, "Print sizes and dates in human readable format")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only show image IDs")
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	flags.StringVar(&opts.format, "format", "", formatHelp)
	return cmd
}

// Default `history` formats, as docker's.
const (
	historyTableFormat         = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
	historyNonHumanTableFormat = "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
)

// historyHeaders are the column titles of the fields a history row offers.
var historyHeaders = map[string]string{
	"ID":           "IMAGE",
	"CreatedSince": "CREATED",
	"CreatedAt":    "CREATED AT",
	"CreatedBy":    "CREATED BY",
	"Size":         "SIZE",
	"Comment":      "COMMENT",
}

// createdByWidth is how much of a layer's command the default table shows.
const createdByWidth = 45

func runHistory(ctx context.Context, cc *cliContext, opts historyOptions) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	history, err := api.ImageHistory(ctx, opts.image)
	if err != nil {
		return err
	}
	layout := historyRowLayout{now: cc.now(), trunc: !opts.noTrunc, human: opts.human}
	rows := make([]*historyRow, 0, len(history.Items))
	for _, item := range history.Items {
		rows = append(rows, &historyRow{layout: layout, item: item})
	}
	return writeRows(cc.stdout, historyFormat(opts), historyHeaders, rows)
}

// historyFormat picks the output format from --format, -q and -H.
func historyFormat(opts historyOptions) outputFormat {
	switch {
	case opts.format != "" && opts.format != tableFormat:
		return parseOutputFormat(opts.format)
	case opts.quiet:
		return parseOutputFormat(quietFormat)
	case !opts.human:
		return parseOutputFormat(historyNonHumanTableFormat)
	default:
		return parseOutputFormat(historyTableFormat)
	}
}

// historyRowLayout holds what every row of one history shares.
type historyRowLayout struct {
	now   time.Time
	trunc bool // shorten IDs and commands
	human bool // ages and humanized sizes rather than timestamps and bytes
}

// historyRow is one layer of `skiff history`; its methods are the fields
// --format templates can use.
type historyRow struct {
	layout historyRowLayout
	item   image.HistoryResponseItem
}

// ID is the layer's image ID, or "<missing>" for layers built elsewhere.
func (r *historyRow) ID() string {
	if r.layout.trunc {
		return shortID(r.item.ID)
	}
	return r.item.ID
}

func (r *historyRow) CreatedAt() string {
	return time.Unix(r.item.Created, 0).In(r.layout.now.Location()).Format(time.RFC3339)
}

// humanEpoch is the date before which docker shows no age for a layer:
// such timestamps are placeholders, not real build times.
var humanEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

func (r *historyRow) CreatedSince() string {
	if !r.layout.human {
		return r.CreatedAt()
	}
	if r.item.Created <= humanEpoch {
		return ""
	}
	return timeSince(r.item.Created, r.layout.now)
}

func (r *historyRow) CreatedBy() string {
	createdBy := strings.ReplaceAll(r.item.CreatedBy, "\t", " ")
	if r.layout.trunc {
		return ellipsis(createdBy, createdByWidth)
	}
	return createdBy
}

func (r *historyRow) Size() string {
	if r.layout.human {
		return units.HumanSizeWithPrecision(float64(r.item.Size), 3)
	}
	return strconv.FormatInt(r.item.Size, 10)
}

func (r *historyRow) Comment() string { return r.item.Comment }

// MarshalJSON renders the row for --format json: every field, by name.
func (r *historyRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"ID":           r.ID(),
		"CreatedSince": r.CreatedSince(),
		"CreatedAt":    r.CreatedAt(),
		"CreatedBy":    r.CreatedBy(),
		"Size":         r.Size(),
		"Comment":      r.Comment(),
	})
}
