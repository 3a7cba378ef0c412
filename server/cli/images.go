package cli

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// newImageCommand is the `skiff image` group, holding docker's aliases of
// the top-level image commands.
func newImageCommand(cc *cliContext) *cobra.Command {
	return newGroupCommand("image", "Manage images",
		renamed(newImagesCommand(cc), "ls", "list"),
		renamed(newImportCommand(cc), "import"),
		renamed(newPullCommand(cc), "pull"),
		renamed(newPushCommand(cc), "push"),
		renamed(newLoadCommand(cc), "load"),
		renamed(newSaveCommand(cc), "save"),
		renamed(newTagCommand(cc), "tag"),
		renamed(newRmiCommand(cc), "rm", "rmi", "remove"),
		renamed(newHistoryCommand(cc), "history"),
		renamed(newImageInspectCommand(cc), "inspect"),
		renamed(newBuildCommand(cc), "build"),
	)
}

type imagesOptions struct {
	reference   string // REPOSITORY[:TAG] argument
	all         bool
	quiet       bool
	showDigests bool
	noTrunc     bool
	tree        bool
	format      string
	filter      filterFlag
}

func newImagesCommand(cc *cliContext) *cobra.Command {
	var opts imagesOptions
	cmd := &cobra.Command{
		Use:   "images [OPTIONS] [REPOSITORY[:TAG]]",
		Short: "List images",
		Args:  maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.reference = args[0]
			}
			if opts.tree {
				return runImageTree(cmd.Context(), cc, opts)
			}
			return runImages(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.all, "all", "a", false, "Show all images (default hides intermediate images)")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only show image IDs")
	flags.BoolVar(&opts.showDigests, "digests", false, "Show digests")
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Don't truncate output")
	flags.BoolVar(&opts.tree, "tree", false, "Show the parent/child lineage of images as a tree")
	flags.StringVar(&opts.format, "format", "", formatHelp)
	flags.VarP(&opts.filter, "filter", "f", "Filter output based on conditions provided")
	return cmd
}

const formatHelp = `Format output using a custom template:
'table':            Print output in table format with column headers (default)
'table TEMPLATE':   Print output in table format using the given Go template
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template`

// Default `images` formats, as docker's.
const (
	imagesTableFormat           = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince}}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"
	imagesTableFormatWithDigest = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince}}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}"
	quietFormat                 = "{{.ID}}"
)

// imageHeaders are the column titles of the fields an image row offers.
var imageHeaders = map[string]string{
	"ID":           "IMAGE ID",
	"Repository":   "REPOSITORY",
	"Tag":          "TAG",
	"Digest":       "DIGEST",
	"CreatedSince": "CREATED",
	"CreatedAt":    "CREATED AT",
	"Size":         "SIZE",
	"Containers":   "CONTAINERS",
	"VirtualSize":  "SIZE",
	"SharedSize":   "SHARED SIZE",
	"UniqueSize":   "UNIQUE SIZE",
}

func runImages(ctx context.Context, cc *cliContext, opts imagesOptions) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	filters := opts.filter.value()
	if opts.reference != "" {
		filters.Add("reference", opts.reference)
	}
	list, err := api.ImageList(ctx, client.ImageListOptions{All: opts.all, Filters: filters})
	if err != nil {
		return err
	}
	format := imagesFormat(opts)
	layout := imageRowLayout{
		now:        cc.now(),
		trunc:      !opts.noTrunc,
		showDigest: opts.showDigests || strings.Contains(format.template, "{{.Digest}}"),
	}
	return writeRows(cc.stdout, format, imageHeaders, imageRows(list.Items, layout))
}

// imagesFormat picks the output format from --format, -q and --digests the
// way docker does: -q and --digests only change the default table.
func imagesFormat(opts imagesOptions) outputFormat {
	switch {
	case opts.format != "" && opts.format != tableFormat:
		format := parseOutputFormat(opts.format)
		if format.table && opts.showDigests && !strings.Contains(format.template, "{{.Digest}}") {
			format.template += "\t{{.Digest}}"
		}
		return format
	case opts.quiet:
		return parseOutputFormat(quietFormat)
	case opts.showDigests:
		return parseOutputFormat(imagesTableFormatWithDigest)
	default:
		return parseOutputFormat(imagesTableFormat)
	}
}

// imageRowLayout holds what every row of one listing shares.
type imageRowLayout struct {
	now        time.Time
	trunc      bool // shorten IDs to 12 hex digits
	showDigest bool // a row per digest rather than one per tag
}

// imageRow is one line of `skiff images`: an image under one repository and
// tag (or digest). Its methods are the fields --format templates can use.
type imageRow struct {
	layout imageRowLayout
	image  image.Summary
	repo   string
	tag    string
	digest string
}

// imageRows expands images into rows as docker does: an untagged image is a
// single <none> row; otherwise there is a row per repository:tag (one per
// digest of that repository when digests are shown), then a row for each
// repository known only by digest. Rows follow the order of RepoTags and
// RepoDigests.
func imageRows(images []image.Summary, layout imageRowLayout) []*imageRow {
	var rows []*imageRow
	for _, img := range images {
		rows = append(rows, rowsOfImage(img, layout)...)
	}
	return rows
}

func rowsOfImage(img image.Summary, layout imageRowLayout) []*imageRow {
	newRow := func(repo, tag, digest string) *imageRow {
		return &imageRow{layout: layout, image: img, repo: repo, tag: tag, digest: digest}
	}
	if isDangling(img) {
		return []*imageRow{newRow("<none>", "<none>", "<none>")}
	}

	tags := groupReferences(img.RepoTags, func(ref reference.Named) (string, bool) {
		tagged, ok := ref.(reference.NamedTagged)
		if !ok {
			return "", false
		}
		return tagged.Tag(), true
	})
	digests := groupReferences(img.RepoDigests, func(ref reference.Named) (string, bool) {
		canonical, ok := ref.(reference.Canonical)
		if !ok {
			return "", false
		}
		return canonical.Digest().String(), true
	})

	var rows []*imageRow
	for _, repo := range tags.repos {
		repoDigests := digests.values[repo]
		if !layout.showDigest || len(repoDigests) == 0 {
			for _, tag := range tags.values[repo] {
				rows = append(rows, newRow(repo, tag, "<none>"))
			}
			continue
		}
		for _, tag := range tags.values[repo] {
			for _, digest := range repoDigests {
				rows = append(rows, newRow(repo, tag, digest))
			}
		}
	}
	for _, repo := range digests.repos {
		if _, tagged := tags.values[repo]; tagged {
			continue
		}
		if !layout.showDigest {
			rows = append(rows, newRow(repo, "<none>", ""))
			continue
		}
		for _, digest := range digests.values[repo] {
			rows = append(rows, newRow(repo, "<none>", digest))
		}
	}
	return rows
}

// isDangling reports an image with neither tags nor digests.
func isDangling(img image.Summary) bool {
	if len(img.RepoTags) == 0 && len(img.RepoDigests) == 0 {
		return true
	}
	return len(img.RepoTags) == 1 && img.RepoTags[0] == "<none>:<none>" &&
		len(img.RepoDigests) == 1 && img.RepoDigests[0] == "<none>@<none>"
}

// referenceGroups maps familiar repository names to the tags or digests
// found for them, remembering the order in which repositories appeared.
type referenceGroups struct {
	repos  []string
	values map[string][]string
}

// groupReferences parses refs and groups what part extracts from each by
// repository; unparsable references and those part rejects are skipped.
func groupReferences(refs []string, part func(reference.Named) (string, bool)) referenceGroups {
	groups := referenceGroups{values: map[string][]string{}}
	for _, ref := range refs {
		named, err := reference.ParseNormalizedNamed(ref)
		if err != nil {
			continue
		}
		value, ok := part(named)
		if !ok {
			continue
		}
		repo := reference.FamiliarName(named)
		if _, seen := groups.values[repo]; !seen {
			groups.repos = append(groups.repos, repo)
		}
		groups.values[repo] = append(groups.values[repo], value)
	}
	return groups
}

func (r *imageRow) ID() string {
	if r.layout.trunc {
		return shortID(r.image.ID)
	}
	return r.image.ID
}

func (r *imageRow) Repository() string { return r.repo }
func (r *imageRow) Tag() string        { return r.tag }
func (r *imageRow) Digest() string     { return r.digest }

// CreatedSince is the image's age, e.g. "2 hours ago"; empty when unknown.
func (r *imageRow) CreatedSince() string {
	return timeSince(r.image.Created, r.layout.now)
}

func (r *imageRow) CreatedAt() string {
	return time.Unix(r.image.Created, 0).In(r.layout.now.Location()).String()
}

func (r *imageRow) Size() string {
	return units.HumanSizeWithPrecision(float64(r.image.Size), 3)
}

// VirtualSize is docker's deprecated alias of Size, in its older rendering.
func (r *imageRow) VirtualSize() string {
	return units.HumanSize(float64(r.image.Size))
}

func (r *imageRow) Containers() string {
	return countOrNA(r.image.Containers)
}

func (r *imageRow) SharedSize() string {
	if r.image.SharedSize == -1 {
		return "N/A"
	}
	return units.HumanSize(float64(r.image.SharedSize))
}

func (r *imageRow) UniqueSize() string {
	if r.image.Size == -1 || r.image.SharedSize == -1 {
		return "N/A"
	}
	return units.HumanSize(float64(r.image.Size - r.image.SharedSize))
}

// MarshalJSON renders the row for --format json: every field, by name.
func (r *imageRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"ID":           r.ID(),
		"Repository":   r.Repository(),
		"Tag":          r.Tag(),
		"Digest":       r.Digest(),
		"CreatedSince": r.CreatedSince(),
		"CreatedAt":    r.CreatedAt(),
		"Size":         r.Size(),
		"VirtualSize":  r.VirtualSize(),
		"Containers":   r.Containers(),
		"SharedSize":   r.SharedSize(),
		"UniqueSize":   r.UniqueSize(),
	})
}

// timeSince renders the time elapsed from the unix time created to now as
// docker does ("About an hour ago"); empty when created is unset.
func timeSince(created int64, now time.Time) string {
	if created <= 0 {
		return ""
	}
	return units.HumanDuration(now.Sub(time.Unix(created, 0))) + " ago"
}

// countOrNA renders a count the daemon may leave uncomputed (-1).
func countOrNA(n int64) string {
	if n == -1 {
		return "N/A"
	}
	return strconv.FormatInt(n, 10)
}

// filterFlag collects repeated -f/--filter name=value options.
type filterFlag struct {
	filters client.Filters
}

func (f *filterFlag) Set(option string) error {
	if option == "" {
		return nil
	}
	name, value, found := strings.Cut(option, "=")
	if !found {
		return errors.New("bad format of filter (expected name=value)")
	}
	if f.filters == nil {
		f.filters = client.Filters{}
	}
	f.filters.Add(strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value))
	return nil
}

func (f *filterFlag) String() string { return "" }
func (f *filterFlag) Type() string   { return "filter" }

// value returns a copy of the collected filters, never nil.
func (f *filterFlag) value() client.Filters {
	if f.filters == nil {
		return client.Filters{}
	}
	return f.filters.Clone()
}
