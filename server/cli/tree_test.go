package cli

import (
	"net/http"
	"testing"

	"github.com/skiff-dev/skiff/server/wire"
)

// sampleTree is two roots: busybox with a nested lineage, and a lone image.
func sampleTree() []wire.ImageTreeNode {
	return []wire.ImageTreeNode{
		{
			ID:          sha("1"),
			RepoTags:    []string{"busybox:latest"},
			VirtualSize: 4261550,
			Children: []wire.ImageTreeNode{
				{
					ID:          sha("6"),
					ParentID:    sha("1"),
					RepoTags:    []string{},
					VirtualSize: 4261550,
					Children: []wire.ImageTreeNode{
						{ID: sha("a"), ParentID: sha("6"), RepoTags: []string{"myapp:v1", "myapp:latest"}, VirtualSize: 4300000},
					},
				},
				{ID: sha("b"), ParentID: sha("1"), RepoTags: []string{"other:latest"}, VirtualSize: 4261550},
			},
		},
		{ID: sha("c"), RepoTags: []string{"scratchy:1"}, VirtualSize: 999},
	}
}

func TestRenderImageTree(t *testing.T) {
	tests := []struct {
		name  string
		roots []wire.ImageTreeNode
		trunc bool
		want  string
	}{
		{
			name:  "empty",
			roots: nil,
			trunc: true,
			want:  "",
		},
		{
			name:  "single root",
			roots: []wire.ImageTreeNode{{ID: sha("1"), RepoTags: []string{"busybox:latest"}, VirtualSize: 4261550}},
			trunc: true,
			want:  "└─111111111111 Virtual Size: 4.26 MB Tags: busybox:latest\n",
		},
		{
			name:  "nested lineage under one root",
			roots: sampleTree()[:1],
			trunc: true,
			want: `└─111111111111 Virtual Size: 4.26 MB Tags: busybox:latest
  ├─666666666666 Virtual Size: 4.26 MB
  │ └─aaaaaaaaaaaa Virtual Size: 4.3 MB Tags: myapp:v1, myapp:latest
  └─bbbbbbbbbbbb Virtual Size: 4.26 MB Tags: other:latest
`,
		},
		{
			name:  "several roots",
			roots: sampleTree(),
			trunc: true,
			want: `├─111111111111 Virtual Size: 4.26 MB Tags: busybox:latest
│ ├─666666666666 Virtual Size: 4.26 MB
│ │ └─aaaaaaaaaaaa Virtual Size: 4.3 MB Tags: myapp:v1, myapp:latest
│ └─bbbbbbbbbbbb Virtual Size: 4.26 MB Tags: other:latest
└─cccccccccccc Virtual Size: 999 B Tags: scratchy:1
`,
		},
		{
			name:  "full IDs",
			roots: sampleTree()[1:],
			trunc: false,
			want:  "└─" + sha("c") + " Virtual Size: 999 B Tags: scratchy:1\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectOutput(t, renderImageTree(tt.roots, tt.trunc), tt.want)
		})
	}
}

func TestImagesTreeCommand(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET "+imageTreePath, http.StatusOK, sampleTree())

	res := d.cli().run(t, "images", "--tree")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, renderImageTree(sampleTree(), true))
	if got := d.lastRequest(t).URL; got != imageTreePath {
		t.Errorf("requested %s, want %s", got, imageTreePath)
	}

	noTrunc := d.cli().run(t, "image", "ls", "--tree", "--no-trunc")
	noTrunc.expectSuccess(t)
	expectOutput(t, noTrunc.stdout, renderImageTree(sampleTree(), false))
}

func TestImagesTreeWithNoImagesPrintsNothing(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET "+imageTreePath, http.StatusOK, []wire.ImageTreeNode{})

	res := d.cli().run(t, "images", "--tree")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, "")
}

func TestImagesTreeDaemonError(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerError("GET "+imageTreePath, http.StatusInternalServerError, "store is locked")

	d.cli().run(t, "images", "--tree").expectExit(t, 1, "Error response from daemon: store is locked\n")
}

func TestImagesTreeRejectsListOptions(t *testing.T) {
	d := newFakeDaemon(t)
	res := d.cli().run(t, "images", "--tree", "-q", "--format", "json", "busybox")

	res.expectExit(t, 1, "--tree cannot be combined with --quiet, --format, a REPOSITORY[:TAG] argument\n")
	if n := len(d.received()); n != 0 {
		t.Errorf("daemon got %d requests, want none", n)
	}
}

func TestSpacedHumanSize(t *testing.T) {
	tests := map[int64]string{
		0:          "0 B",
		999:        "999 B",
		4261550:    "4.26 MB",
		4300000:    "4.3 MB",
		1234567890: "1.23 GB",
	}
	for bytes, want := range tests {
		if got := spacedHumanSize(bytes); got != want {
			t.Errorf("spacedHumanSize(%d) = %q, want %q", bytes, got, want)
		}
	}
}

func TestImageTreeNodeDecodesSkiffAPIJSON(t *testing.T) {
	// The daemon's encoding of skiffapi.ImageTreeNode, field for field.
	const wire = `[{"Id":"sha256:1","ParentId":"","RepoTags":["a:1"],"Created":5,"Size":6,"VirtualSize":7,"Containers":8,
		"Children":[{"Id":"sha256:2","ParentId":"sha256:1","RepoTags":[],"Created":1,"Size":2,"VirtualSize":3,"Containers":0,"Children":[]}]}]`
	d := newFakeDaemon(t)
	d.handle("GET "+imageTreePath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(wire))
	})

	res := d.cli().run(t, "images", "--tree", "--no-trunc")

	res.expectSuccess(t)
	want := "└─sha256:1 Virtual Size: 7 B Tags: a:1\n  └─sha256:2 Virtual Size: 3 B\n"
	expectOutput(t, res.stdout, want)
}
