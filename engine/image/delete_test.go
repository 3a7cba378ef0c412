package image

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
)

func untagged(tags ...string) []DeleteRecord {
	var out []DeleteRecord
	for _, t := range tags {
		out = append(out, DeleteRecord{Untagged: t})
	}
	return out
}

func TestDeleteTagWithOtherTagsOnlyUntags(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id := e.importBusybox(t, "busybox:latest")
	e.Tag(ctx, "busybox", "mine:v1")

	got, err := e.Delete(ctx, "mine:v1", false, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, untagged("mine:v1")) {
		t.Errorf("records = %+v", got)
	}
	if _, err := e.Resolve(ctx, id.String()); err != nil {
		t.Errorf("image deleted although busybox:latest still names it: %v", err)
	}
}

func TestDeleteLastTagDeletesImageAndItsFiles(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id := e.importBusybox(t, "busybox:latest")
	img, _ := e.Inspect(ctx, id.String())

	got, err := e.Delete(ctx, "busybox", false, true)
	if err != nil {
		t.Fatal(err)
	}
	chainID := img.Config.RootFS.DiffIDs[0] // a base layer's chain ID is its diff ID
	want := []DeleteRecord{{Untagged: "busybox:latest"}, {Deleted: id.String()}, {Deleted: chainID.String()}}
	if !slices.Equal(got, want) {
		t.Errorf("records = %+v, want %+v", got, want)
	}
	if c := e.counts(t); c != (counts{}) {
		t.Errorf("after deleting the only image the data root holds %+v", c)
	}
	if exists(img.LayerPaths[0]) {
		t.Error("layer directory survived")
	}
}

func TestDeleteKeepsLayersOtherImagesShare(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	base := e.importBusybox(t, "busybox:latest")
	child := e.child(t, base, "a", "app:v1")
	e.child(t, base, "b", "other:v1")

	if _, err := e.Delete(ctx, "app:v1", false, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Resolve(ctx, child.String()); !errdefs.IsNotFound(err) {
		t.Errorf("child still resolves: %v", err)
	}
	img, err := e.Inspect(ctx, "other:v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range img.LayerPaths {
		if !exists(p) {
			t.Errorf("shared layer %s was removed", p)
		}
	}
	if c := e.counts(t); c.images != 2 || c.layers != 2 || c.layerDirs != 2 {
		t.Errorf("data root holds %+v, want 2 images and 2 layers", c)
	}
}

// The conflicts of docker rmi, with its messages.
func TestDeleteConflicts(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *testEnv) (ref string)
		force bool
		want  string
		hard  bool
	}{
		{
			name: "parent of another image",
			setup: func(t *testing.T, e *testEnv) string {
				base := e.importBusybox(t, "busybox:latest")
				e.child(t, base, "a", "app:v1")
				return base.String()
			},
			force: true, hard: true,
			want: "(cannot be forced) - image has dependent child images",
		},
		{
			name: "running container",
			setup: func(t *testing.T, e *testEnv) string {
				id := e.importBusybox(t, "busybox:latest")
				e.addContainer(t, strings.Repeat("c", 64), "web", id, "running")
				return id.String()
			},
			force: true, hard: true,
			want: "(cannot be forced) - image is being used by running container cccccccccccc",
		},
		{
			name: "stopped container",
			setup: func(t *testing.T, e *testEnv) string {
				id := e.importBusybox(t, "")
				e.addContainer(t, strings.Repeat("d", 64), "old", id, "exited")
				return id.String()
			},
			want: "(must be forced) - image is being used by stopped container dddddddddddd",
		},
		{
			name: "last tag of an image a container uses",
			setup: func(t *testing.T, e *testEnv) string {
				id := e.importBusybox(t, "busybox:latest")
				e.addContainer(t, strings.Repeat("e", 64), "old", id, "exited")
				return "busybox"
			},
			want: `unable to remove repository reference "busybox" (must force) - container eeeeeeeeeeee is using its referenced image`,
		},
		{
			name: "ID of an image tagged in several repositories",
			setup: func(t *testing.T, e *testEnv) string {
				id := e.importBusybox(t, "busybox:latest")
				e.Tag(context.Background(), id.String(), "other:v1")
				return id.Encoded()[:12]
			},
			want: "(must be forced) - image is referenced in multiple repositories",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			ref := tc.setup(t, e)
			before := e.counts(t)
			_, err := e.Delete(context.Background(), ref, tc.force, true)
			if !errdefs.IsConflict(err) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "conflict: ") {
				t.Fatalf("error = %v, want a conflict with %q", err, tc.want)
			}
			var dc *DeleteConflict
			if errors.As(err, &dc) && dc.Hard != tc.hard {
				t.Errorf("hard = %v, want %v", dc.Hard, tc.hard)
			}
			if after := e.counts(t); after != before {
				t.Errorf("a refused delete changed the data root: %+v -> %+v", before, after)
			}
		})
	}
}

func TestForceDeletesAroundSoftConflicts(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id := e.importBusybox(t, "busybox:latest")
	e.Tag(ctx, id.String(), "other:v1")
	e.addContainer(t, strings.Repeat("f", 64), "old", id, "exited")

	got, err := e.Delete(ctx, id.Encoded()[:12], true, true)
	if err != nil {
		t.Fatal(err)
	}
	want := append(untagged("busybox:latest", "other:v1"), DeleteRecord{Deleted: id.String()})
	if !slices.Equal(got, want) {
		t.Errorf("records = %+v, want %+v", got, want)
	}
	// The stopped container still needs the layers, so they stay.
	if c := e.counts(t); c.images != 0 || c.layers != 1 || c.layerDirs != 1 {
		t.Errorf("after rmi -f the data root holds %+v; the container's layer must stay", c)
	}
}

func TestDeletePrunesUntaggedParents(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	base := e.importBusybox(t, "busybox:latest")
	step1 := e.child(t, base, "a")
	step2 := e.child(t, step1, "")
	top := e.child(t, step2, "b", "app:v1")

	got, err := e.Delete(ctx, "app:v1", false, true)
	if err != nil {
		t.Fatal(err)
	}
	var deleted []digest.Digest
	for _, r := range got {
		if r.Deleted != "" {
			deleted = append(deleted, digest.Digest(r.Deleted))
		}
	}
	for _, id := range []digest.Digest{top, step2, step1} {
		if !slices.Contains(deleted, id) {
			t.Errorf("%s not deleted; records %+v", ShortID(id), got)
		}
	}
	if slices.Contains(deleted, base) {
		t.Error("the tagged base image was pruned")
	}

	// With noprune the intermediate parents stay.
	step1 = e.child(t, base, "a")
	e.child(t, step1, "b", "app:v2")
	if _, err := e.Delete(ctx, "app:v2", false, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Resolve(ctx, step1.String()); err != nil {
		t.Errorf("noprune removed the parent: %v", err)
	}
}

func TestDeleteUnknownImage(t *testing.T) {
	e := newTestEnv(t)
	_, err := e.Delete(context.Background(), "nosuch:v1", false, true)
	if !errdefs.IsNotFound(err) || err.Error() != "No such image: nosuch:v1" {
		t.Errorf("error = %v", err)
	}
}

func TestContainerBaseIsTheImagesConfigAndTopLayerUntilItIsDeleted(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	parent := e.importBusybox(t, "busybox:latest")
	id := e.child(t, parent, "added", "child:latest")
	img, err := e.Inspect(ctx, id.String())
	if err != nil {
		t.Fatal(err)
	}
	top, err := e.TopLayer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // read, then kept
		b, err := e.ContainerBase(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if b.TopLayer != top || !slices.Equal(b.Config.RootFS.DiffIDs, img.Config.RootFS.DiffIDs) ||
			!slices.Equal(b.Config.Config.Cmd, img.Config.Config.Cmd) {
			t.Fatalf("ContainerBase = top %s, diff IDs %v, cmd %v; want %s, %v, %v",
				b.TopLayer, b.Config.RootFS.DiffIDs, b.Config.Config.Cmd, top, img.Config.RootFS.DiffIDs, img.Config.Config.Cmd)
		}
	}
	if _, err := e.Delete(ctx, "child", false, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ContainerBase(ctx, id); !errdefs.IsNotFound(err) {
		t.Errorf("ContainerBase of a deleted image: %v, want not found", err)
	}
}
