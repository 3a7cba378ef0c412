package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docker/go-units"

	"github.com/skiff-dev/skiff/server/wire"
)

// imageTreePath is skiff's own endpoint answering the image lineage as a
// JSON array of root wire.ImageTreeNode values.
const imageTreePath = "/skiff/images/tree"

// runImageTree prints `skiff images --tree`: the parent/child lineage of all
// images, drawn like the old `docker images --tree`.
func runImageTree(ctx context.Context, cc *cliContext, opts imagesOptions) error {
	if err := checkTreeOptions(opts); err != nil {
		return err
	}
	var roots []wire.ImageTreeNode
	if err := cc.getJSON(ctx, imageTreePath, &roots); err != nil {
		return err
	}
	_, err := io.WriteString(cc.stdout, renderImageTree(roots, !opts.noTrunc))
	return err
}

// checkTreeOptions rejects the `images` options a tree cannot honour.
func checkTreeOptions(opts imagesOptions) error {
	var unsupported []string
	if opts.quiet {
		unsupported = append(unsupported, "--quiet")
	}
	if opts.showDigests {
		unsupported = append(unsupported, "--digests")
	}
	if opts.format != "" {
		unsupported = append(unsupported, "--format")
	}
	if len(opts.filter.filters) > 0 {
		unsupported = append(unsupported, "--filter")
	}
	if opts.reference != "" {
		unsupported = append(unsupported, "a REPOSITORY[:TAG] argument")
	}
	if len(unsupported) > 0 {
		return errors.New("--tree cannot be combined with " + strings.Join(unsupported, ", "))
	}
	return nil
}

// renderImageTree draws the lineage, one image per line:
//
//	└─1a2b3c4d5e6f Virtual Size: 4.26 MB Tags: busybox:latest
//	  ├─6f5e4d3c2b1a Virtual Size: 4.26 MB
//	  │ └─aaaaaaaaaaaa Virtual Size: 4.3 MB Tags: myapp:v1, myapp:latest
//	  └─bbbbbbbbbbbb Virtual Size: 4.26 MB Tags: other:latest
//
// Siblings hang off "├─", the last of them off "└─"; each level indents by
// two columns, continuing the parent's "│" while it has siblings below.
func renderImageTree(roots []wire.ImageTreeNode, trunc bool) string {
	var b strings.Builder
	drawTreeLevel(&b, roots, "", trunc)
	return b.String()
}

func drawTreeLevel(b *strings.Builder, nodes []wire.ImageTreeNode, indent string, trunc bool) {
	for i, node := range nodes {
		branch, childIndent := "├─", "│ "
		if i == len(nodes)-1 {
			branch, childIndent = "└─", "  "
		}
		b.WriteString(indent + branch + describeTreeNode(node, trunc) + "\n")
		drawTreeLevel(b, node.Children, indent+childIndent, trunc)
	}
}

// describeTreeNode is one image's line after the branch drawing.
func describeTreeNode(node wire.ImageTreeNode, trunc bool) string {
	id := node.ID
	if trunc {
		id = shortID(id)
	}
	line := fmt.Sprintf("%s Virtual Size: %s", id, spacedHumanSize(node.VirtualSize))
	if len(node.RepoTags) > 0 {
		line += " Tags: " + strings.Join(node.RepoTags, ", ")
	}
	return line
}

// decimalUnits are the SI byte units docker's human sizes use.
var decimalUnits = []string{"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"}

// spacedHumanSize renders bytes to three significant digits with a space
// before the unit ("4.26 MB"), the old docker tree's style.
func spacedHumanSize(bytes int64) string {
	return units.CustomSize("%.3g %s", float64(bytes), 1000, decimalUnits)
}
