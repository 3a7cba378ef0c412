package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/testimage"
)

func TestImportStoresImageLayerAndTag(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id := e.importBusybox(t, "busybox:latest")

	img, err := e.Inspect(ctx, "busybox")
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != id || digest.FromBytes(mustConfig(t, e, id)) != id {
		t.Fatalf("image ID %s is not the digest of its config", img.ID)
	}
	if !slices.Equal(img.RepoTags, []string{"busybox:latest"}) {
		t.Errorf("RepoTags = %v", img.RepoTags)
	}
	if got := img.Config.History[0].Comment; got != "Imported from -" {
		t.Errorf("history comment = %q", got)
	}
	if img.Config.OS != "linux" || len(img.Config.RootFS.DiffIDs) != 1 {
		t.Errorf("config: os %q, %d layers", img.Config.OS, len(img.Config.RootFS.DiffIDs))
	}
	// The layer is unpacked for overlayfs, and its tar kept for save.
	busybox := filepath.Join(img.LayerPaths[0], "bin", "busybox")
	if fi, err := os.Stat(busybox); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("unpacked layer lacks an executable bin/busybox: %v", err)
	}
	diffID := img.Config.RootFS.DiffIDs[0]
	if diffID != digest.FromBytes(testimage.Rootfs(t)) {
		t.Errorf("diff ID %s is not the digest of the tarball", diffID)
	}
	if _, err := e.content.Info(diffID); err != nil {
		t.Errorf("layer tar blob missing: %v", err)
	}
	if img.Size < 1<<20 {
		t.Errorf("size %d is smaller than busybox itself", img.Size)
	}
}

func TestImportCompressedTarballGivesTheSameLayer(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(testimage.Rootfs(t))
	zw.Close()
	plain := e.importBusybox(t, "plain:1")
	compressed, err := e.Import(ctx, &gz, ImportOptions{Source: "-", Message: "from gzip"})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := e.Inspect(ctx, plain.String())
	b, _ := e.Inspect(ctx, compressed.String())
	if a.Config.RootFS.DiffIDs[0] != b.Config.RootFS.DiffIDs[0] {
		t.Errorf("gzip import has diff ID %s, plain %s", b.Config.RootFS.DiffIDs[0], a.Config.RootFS.DiffIDs[0])
	}
	if got := e.counts(t); got.layers != 1 || got.layerDirs != 1 {
		t.Errorf("two imports of one rootfs keep %d layer rows and %d dirs, want 1 and 1", got.layers, got.layerDirs)
	}
	if b.Config.History[0].Comment != "from gzip" {
		t.Errorf("message not used as comment: %q", b.Config.History[0].Comment)
	}
}

func TestImportChangesSetTheConfig(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	id, err := e.Import(ctx, bytes.NewReader(testimage.Rootfs(t)), ImportOptions{Source: "-", Changes: []string{
		`CMD ["/bin/sh"]`, "ENV A=1 B=2", "EXPOSE 8080 53/udp", "WORKDIR /srv", "USER app", `LABEL team="core"`,
		"ENTRYPOINT echo hi", "VOLUME /data", "STOPSIGNAL SIGINT",
	}})
	if err != nil {
		t.Fatal(err)
	}
	img, _ := e.Inspect(ctx, id.String())
	c := img.Config.Config
	switch {
	case !slices.Equal(c.Cmd, []string{"/bin/sh"}):
		t.Errorf("Cmd = %q", c.Cmd)
	case !slices.Equal(c.Env, []string{"A=1", "B=2"}):
		t.Errorf("Env = %q", c.Env)
	case len(c.ExposedPorts) != 2:
		t.Errorf("ExposedPorts = %v", c.ExposedPorts)
	case c.WorkingDir != "/srv" || c.User != "app" || c.Labels["team"] != "core" || c.StopSignal != "SIGINT":
		t.Errorf("config = %+v", c)
	case !slices.Equal(c.Entrypoint, []string{"/bin/sh", "-c", "echo hi"}):
		t.Errorf("Entrypoint = %q", c.Entrypoint)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("Volumes = %v", c.Volumes)
	}
	if _, err := e.Import(ctx, bytes.NewReader(testimage.Rootfs(t)), ImportOptions{Changes: []string{"RUN echo no"}}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("RUN as a change: got %v, want an invalid-argument error", err)
	}
}

// Bad tarballs fail with an error naming the cause and leave nothing
// registered or written.
func TestImportBadInputLeavesNothing(t *testing.T) {
	rootfs := testimage.Rootfs(t)
	tests := []struct {
		name    string
		tarball []byte
		want    string
	}{
		{"garbage", []byte(strings.Repeat("not a tar archive ", 100)), "tar"},
		{"truncated", rootfs[:len(rootfs)/2], "unexpected EOF"},
		{"parent traversal", tarWith(t, entry{name: "../../escape", body: "x"}), "../../escape"},
		{"absolute path", tarWith(t, entry{name: "/etc/escape", body: "x"}), "/etc/escape"},
		{"symlink then write", tarWith(t, entry{name: "etc", link: "/tmp"}, entry{name: "etc/escape", body: "x"}), "etc/escape"},
		{"hardlink outside", tarWith(t, entry{name: "h", hardlink: "../../etc/passwd"}), "../../etc/passwd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			_, err := e.Import(context.Background(), bytes.NewReader(tc.tarball), ImportOptions{Source: "-", Tag: mustTag(t, "bad:1")})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one mentioning %q", err, tc.want)
			}
			if got := e.counts(t); got != (counts{}) {
				t.Errorf("after a failed import the data root holds %+v, want nothing", got)
			}
		})
	}
}

// A full disk during an import fails it cleanly: the error says why, and
// neither rows nor files remain.
func TestImportOnFullDiskLeavesNothing(t *testing.T) {
	root := t.TempDir()
	if err := mountTmpfs(t, root, "6m"); err != nil {
		t.Fatal(err)
	}
	e := openTestEnv(t, root)
	e.importBusybox(t, "small:1") // fits: about 2 MB twice (blob and files)

	big := tarWith(t, entry{name: "big", body: strings.Repeat("x", 8<<20)})
	_, err := e.Import(context.Background(), bytes.NewReader(big), ImportOptions{Source: "-", Tag: mustTag(t, "big:1")})
	if err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("error = %v, want no space left on device", err)
	}
	got := e.counts(t)
	if got.images != 1 || got.layers != 1 || got.layerDirs != 1 || got.blobs != 2 || got.scratch != 0 {
		t.Errorf("after the failed import the data root holds %+v; want only the first image (1 image, 1 layer, 2 blobs)", got)
	}
	if _, err := e.Inspect(context.Background(), "small:1"); err != nil {
		t.Errorf("the image imported before is damaged: %v", err)
	}
}

func TestResolve(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	base := e.importBusybox(t, "busybox:latest")
	e.Tag(ctx, base.String(), "registry.example:5000/team/app:v1")

	// Seventeen images: two of them must share a first hex digit.
	ids := []digest.Digest{base}
	for i := range 16 {
		ids = append(ids, e.child(t, base, "", "child:"+string(rune('a'+i))))
	}
	ambiguous := ""
	for i := range ids {
		for j := i + 1; j < len(ids) && ambiguous == ""; j++ {
			if ids[i].Encoded()[0] == ids[j].Encoded()[0] {
				ambiguous = ids[i].Encoded()[:1]
			}
		}
	}

	tests := []struct {
		ref     string
		want    digest.Digest
		errWant string
		errIs   func(error) bool
	}{
		{ref: "busybox", want: base},
		{ref: "busybox:latest", want: base},
		{ref: "docker.io/library/busybox:latest", want: base},
		{ref: "registry.example:5000/team/app:v1", want: base},
		{ref: base.String(), want: base},
		{ref: base.Encoded(), want: base},
		{ref: base.Encoded()[:12], want: base},
		{ref: "sha256:" + base.Encoded()[:10], want: base},
		{ref: "nosuch", errWant: "No such image: nosuch:latest", errIs: errdefs.IsNotFound},
		{ref: "busybox:nosuch", errWant: "No such image: busybox:nosuch", errIs: errdefs.IsNotFound},
		{ref: ambiguous, errWant: "ambiguous", errIs: errdefs.IsInvalidArgument},
		{ref: "Busybox", errWant: "invalid reference format", errIs: errdefs.IsInvalidArgument},
		{ref: "a b", errWant: "invalid reference format", errIs: errdefs.IsInvalidArgument},
		{ref: "", errWant: "empty", errIs: errdefs.IsInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			got, err := e.Resolve(ctx, tc.ref)
			if tc.errWant != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errWant) || !tc.errIs(err) {
					t.Fatalf("Resolve(%q) = %v, %v; want an error with %q of the right class", tc.ref, got, err, tc.errWant)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Resolve(%q) = %v, %v; want %s", tc.ref, got, err, tc.want)
			}
		})
	}
}

func TestTagMovesAndRefusesBadNames(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	a := e.importBusybox(t, "app:v1")
	b := e.child(t, a, "f")
	if err := e.Tag(ctx, b.String(), "app:v1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Resolve(ctx, "app:v1"); got != b {
		t.Errorf("app:v1 points at %s after retagging, want %s", got, b)
	}
	for _, bad := range []string{"UPPER:case", "app@sha256:" + strings.Repeat("a", 64), strings.Repeat("ab", 32), "a:b:c"} {
		if err := e.Tag(ctx, a.String(), bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Tag(%q) = %v, want an invalid-argument error", bad, err)
		}
	}
	if err := e.Tag(ctx, "nosuch", "x:y"); !errdefs.IsNotFound(err) {
		t.Errorf("tagging an unknown image: %v", err)
	}
}

func TestHistoryFollowsTheLineage(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	base := e.importBusybox(t, "busybox:latest")
	mid := e.child(t, base, "a")
	top := e.child(t, mid, "", "app:v1")

	h, err := e.History(ctx, "app:v1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []digest.Digest
	for _, item := range h {
		ids = append(ids, digest.Digest(item.ID))
	}
	if !slices.Equal(ids, []digest.Digest{top, mid, base}) {
		t.Fatalf("history IDs = %v, want top, mid, base", ids)
	}
	if h[0].Size != 0 || h[1].Size == 0 || h[2].Size < 1<<20 {
		t.Errorf("sizes = %d, %d, %d; want 0 for the config-only step", h[0].Size, h[1].Size, h[2].Size)
	}
	if !slices.Equal(h[0].Tags, []string{"app:v1"}) || !slices.Equal(h[2].Tags, []string{"busybox:latest"}) {
		t.Errorf("tags = %v / %v", h[0].Tags, h[2].Tags)
	}
	if h[2].Comment != "Imported from -" || h[1].CreatedBy != "/bin/sh -c touch a" {
		t.Errorf("entries = %+v", h)
	}
}

func TestTreeShowsParentsAndChildren(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	base := e.importBusybox(t, "busybox:latest")
	left := e.child(t, base, "l", "left:1")
	e.child(t, left, "ll")
	e.child(t, base, "r", "right:1")
	other := e.importBusyboxWithMessage(t, "other:1")

	roots, err := e.Tree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(roots) != 2 || roots[0].ID != base || roots[1].ID != other {
		t.Fatalf("roots = %v, want busybox and other", treeIDs(roots))
	}
	b := roots[0]
	if len(b.Children) != 2 || b.Children[0].ID != left || len(b.Children[0].Children) != 1 {
		t.Fatalf("busybox's subtree is wrong: %v", treeIDs(b.Children))
	}
	if b.Children[0].OwnSize == 0 || b.Children[0].OwnSize >= b.Children[0].Size {
		t.Errorf("child's own size %d should be its layer only (total %d)", b.Children[0].OwnSize, b.Children[0].Size)
	}
}

func (e *testEnv) importBusyboxWithMessage(t *testing.T, ref string) digest.Digest {
	t.Helper()
	id, err := e.Import(context.Background(), bytes.NewReader(testimage.Rootfs(t)), ImportOptions{Message: ref, Tag: mustTag(t, ref)})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func treeIDs(nodes []*TreeNode) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, ShortID(n.ID))
	}
	return out
}

func TestListHidesIntermediatesAndFilters(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	base := e.importBusybox(t, "busybox:latest")
	intermediate := e.child(t, base, "a")
	top := e.child(t, intermediate, "b", "app:v1", "app:v2")
	dangling := e.child(t, base, "c")

	ids := func(opts ListOptions) []digest.Digest {
		t.Helper()
		list, err := e.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		var out []digest.Digest
		for _, s := range list {
			out = append(out, s.ID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(d ...digest.Digest) []digest.Digest { slices.Sort(d); return d }
	yes, no := true, false
	tests := []struct {
		name string
		opts ListOptions
		want []digest.Digest
	}{
		{"default hides intermediates", ListOptions{}, sorted(base, top, dangling)},
		{"all", ListOptions{All: true}, sorted(base, intermediate, top, dangling)},
		{"dangling", ListOptions{Dangling: &yes}, sorted(dangling)},
		{"not dangling", ListOptions{Dangling: &no}, sorted(base, top)},
		{"reference name", ListOptions{Reference: []string{"app"}}, sorted(top)},
		{"reference pattern", ListOptions{Reference: []string{"busy*:latest"}}, sorted(base)},
		{"since", ListOptions{Since: "busybox"}, sorted(top, dangling)},
		{"before", ListOptions{Before: "app:v1"}, sorted(base)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(tc.opts); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	list, _ := e.List(ctx, ListOptions{Reference: []string{"app:v2"}})
	if len(list) != 1 || !slices.Equal(list[0].RepoTags, []string{"app:v2"}) {
		t.Errorf("a reference filter shows only matching tags: %+v", list)
	}
}

func mustConfig(t *testing.T, e *testEnv, id digest.Digest) []byte {
	t.Helper()
	raw, err := e.RawConfig(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestGCRemovesOnlyUnreferencedFiles(t *testing.T) {
	root := t.TempDir()
	e := openTestEnv(t, root)
	id := e.importBusybox(t, "busybox:latest")
	before := e.counts(t)

	// What a crash between writing files and committing rows leaves behind.
	orphanBlob, _, err := e.content.Ingest(context.Background(), strings.NewReader("orphan"), "")
	if err != nil {
		t.Fatal(err)
	}
	orphanLayer := filepath.Join(root, "layers", strings.Repeat("ab", 32))
	os.MkdirAll(filepath.Join(orphanLayer, "etc"), 0o755)

	e = openTestEnv(t, root) // a restart
	if got := e.counts(t); got != before {
		t.Errorf("after GC the data root holds %+v, want %+v", got, before)
	}
	if exists(e.content.Path(orphanBlob)) || exists(orphanLayer) {
		t.Error("orphans survived GC")
	}
	if _, err := e.Inspect(context.Background(), id.String()); err != nil {
		t.Errorf("GC damaged a referenced image: %v", err)
	}
}
