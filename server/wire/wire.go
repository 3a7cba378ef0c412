// Package wire holds the JSON types of skiff's own endpoints (under /skiff/),
// shared by the daemon's handlers and the CLI, which must not import the
// engine.
package wire

// APIVersion is the newest Docker Engine API version the daemon speaks,
// and the one skiff's CLI asks for: naming it spares every command the
// /_ping that negotiating a version would cost.
const APIVersion = "1.50"

// ImageTreeNode is one image in the lineage tree served at
// GET /skiff/images/tree, which answers with the roots as a JSON array.
// Children are the images whose parent is this one, oldest first.
type ImageTreeNode struct {
	ID          string          `json:"Id"`          // sha256:…
	ParentID    string          `json:"ParentId"`    // sha256:… or ""
	RepoTags    []string        `json:"RepoTags"`    // familiar names, e.g. busybox:latest; [] when untagged
	Created     int64           `json:"Created"`     // unix seconds
	Size        int64           `json:"Size"`        // bytes of the layers this image adds to its parent
	VirtualSize int64           `json:"VirtualSize"` // bytes of all its layers
	Containers  int64           `json:"Containers"`  // containers using it
	Children    []ImageTreeNode `json:"Children"`
}
