package layer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

func openStore(t *testing.T) (*Store, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "layers")
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}

func unpack(t *testing.T, s *Store, entries ...tarEntry) *Pending {
	t.Helper()
	p, err := s.Unpack(context.Background(), bytes.NewReader(makeTar(t, entries...)))
	if err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	return p
}

func walk(t *testing.T, s *Store) []digest.Digest {
	t.Helper()
	var ids []digest.Digest
	if err := s.Walk(func(id digest.Digest) error { ids = append(ids, id); return nil }); err != nil {
		t.Fatalf("Walk: %v", err)
	}
	slices.Sort(ids)
	return ids
}

func TestOpenCreatesRootWithMode0700(t *testing.T) {
	_, root := openStore(t)
	fi, err := os.Stat(root)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("store root: %v, want a 0700 directory", fi.Mode())
	}
}

func TestUnpackedLayerIsVisibleOnlyAfterCommit(t *testing.T) {
	s, root := openStore(t)
	id := digest.FromString("layer")
	p := unpack(t, s, file("etc/hostname", "skiff"))

	if p.Size() != 5 {
		t.Errorf("Size = %d, want 5", p.Size())
	}
	if got := readFile(t, filepath.Join(p.Dir(), "etc/hostname")); got != "skiff" {
		t.Errorf("pending etc/hostname = %q, want %q", got, "skiff")
	}
	if !strings.HasPrefix(filepath.Base(p.Dir()), ".tmp-") || filepath.Dir(p.Dir()) != root {
		t.Errorf("pending dir %s, want a .tmp- dir in %s (same filesystem, so rename works)", p.Dir(), root)
	}
	if s.Exists(id) || len(walk(t, s)) != 0 {
		t.Fatal("layer visible before Commit")
	}

	if err := s.Commit(p, id); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if !s.Exists(id) {
		t.Error("Exists = false after Commit")
	}
	if want := filepath.Join(root, id.Encoded()); s.Path(id) != want {
		t.Errorf("Path = %s, want %s", s.Path(id), want)
	}
	if got := readFile(t, filepath.Join(s.Path(id), "etc/hostname")); got != "skiff" {
		t.Errorf("committed etc/hostname = %q, want %q", got, "skiff")
	}
	if fi, err := os.Stat(s.Path(id)); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("layer root mode = %v (%v), want 0755: it becomes the container's /", fi.Mode(), err)
	}
	if exists(p.Dir()) {
		t.Error("pending dir still exists after Commit")
	}
}

func TestUnpackFailureLeavesNothingBehind(t *testing.T) {
	s, root := openStore(t)
	truncated := makeTar(t, file("ok", "fine"), file("big", strings.Repeat("x", 8192)))
	if _, err := s.Unpack(context.Background(), bytes.NewReader(truncated[:len(truncated)-4096])); err == nil {
		t.Fatal("Unpack of a truncated tar succeeded")
	}
	if _, err := s.Unpack(context.Background(), bytes.NewReader(makeTar(t, file("ok", "x"), file("../escape", "x")))); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("Unpack of a hostile tar: err = %v, want errdefs.ErrInvalidArgument", err)
	}
	if got := listTree(t, root); len(got) != 0 {
		t.Errorf("store holds %q after failed unpacks, want nothing", got)
	}
}

// TestUnpackReportsENOSPC fills a small tmpfs: callers must be able to tell a
// full disk from a bad layer.
func TestUnpackReportsENOSPC(t *testing.T) {
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	s, err := Open(filepath.Join(mnt, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Unpack(context.Background(), bytes.NewReader(makeTar(t, file("big", strings.Repeat("x", 2<<20)))))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Unpack onto a full disk: err = %v, want ENOSPC", err)
	}
	if errdefs.IsInvalidArgument(err) {
		t.Errorf("ENOSPC classed as invalid argument: %v", err)
	}
	if got := listTree(t, filepath.Join(mnt, "layers")); len(got) != 0 {
		t.Errorf("store holds %q after a failed unpack, want nothing", got)
	}
}

func TestCommitOfExistingLayerKeepsTheFirst(t *testing.T) {
	s, root := openStore(t)
	id := digest.FromString("layer")
	if err := s.Commit(unpack(t, s, file("which", "first")), id); err != nil {
		t.Fatal(err)
	}
	second := unpack(t, s, file("which", "second"))
	if err := s.Commit(second, id); err != nil {
		t.Fatalf("second Commit of the same chain ID: %v, want success", err)
	}
	if got := readFile(t, filepath.Join(s.Path(id), "which")); got != "first" {
		t.Errorf("layer content = %q, want the first commit's", got)
	}
	if got, want := listTree(t, root), []string{id.Encoded(), id.Encoded() + "/which"}; !slices.Equal(got, want) {
		t.Errorf("store holds %q, want %q (duplicate discarded)", got, want)
	}
}

func TestDiscardRemovesPendingLayer(t *testing.T) {
	s, root := openStore(t)
	p := unpack(t, s, file("a", "x"))
	if err := s.Discard(p); err != nil {
		t.Fatal(err)
	}
	if got := listTree(t, root); len(got) != 0 {
		t.Errorf("store holds %q after Discard, want nothing", got)
	}
}

func TestRemoveDeletesLayer(t *testing.T) {
	s, root := openStore(t)
	id, other := digest.FromString("layer"), digest.FromString("other")
	for _, d := range []digest.Digest{id, other} {
		if err := s.Commit(unpack(t, s, dir("d"), file("d/f", "x")), d); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Remove(id); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if s.Exists(id) || !s.Exists(other) {
		t.Errorf("after Remove: Exists(removed) = %v, Exists(other) = %v", s.Exists(id), s.Exists(other))
	}
	for _, name := range listTree(t, root) {
		if strings.HasPrefix(name, ".removing-") {
			t.Errorf("%s left behind", name)
		}
	}
	if err := s.Remove(id); err != nil {
		t.Errorf("Remove of an absent layer: %v, want nil", err)
	}
}

func TestRemoveFinishesAnEarlierHalfDoneRemove(t *testing.T) {
	s, root := openStore(t)
	id := digest.FromString("layer")
	if err := s.Commit(unpack(t, s, file("f", "x")), id); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, ".removing-"+id.Encoded(), "stale"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(id); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if got := listTree(t, root); len(got) != 0 {
		t.Errorf("store holds %q, want nothing", got)
	}
}

func TestOpenRemovesLeftoversOfACrashedProcess(t *testing.T) {
	s, root := openStore(t)
	id := digest.FromString("layer")
	if err := s.Commit(unpack(t, s, file("f", "x")), id); err != nil {
		t.Fatal(err)
	}
	unpack(t, s, file("half", "unpacked")) // never committed
	removing := filepath.Join(root, ".removing-"+digest.FromString("old").Encoded())
	if err := os.MkdirAll(filepath.Join(removing, "usr/bin"), 0o755); err != nil {
		t.Fatal(err)
	}

	s, err := Open(root)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if got, want := listTree(t, root), []string{id.Encoded(), id.Encoded() + "/f"}; !slices.Equal(got, want) {
		t.Errorf("after reopen the store holds %q, want only the committed layer %q", got, want)
	}
	if !s.Exists(id) {
		t.Error("committed layer lost on reopen")
	}
}

func TestWalkListsCommittedLayersOnly(t *testing.T) {
	s, root := openStore(t)
	a, b := digest.FromString("a"), digest.FromString("b")
	for _, d := range []digest.Digest{a, b} {
		if err := s.Commit(unpack(t, s, file("f", "x")), d); err != nil {
			t.Fatal(err)
		}
	}
	unpack(t, s, file("pending", "x"))
	for _, name := range []string{".removing-" + digest.FromString("c").Encoded(), "not-a-layer"} {
		if err := os.Mkdir(filepath.Join(root, name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, digest.FromString("file").Encoded()), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	want := []digest.Digest{a, b}
	slices.Sort(want)
	if got := walk(t, s); !slices.Equal(got, want) {
		t.Errorf("Walk = %v, want %v", got, want)
	}

	stop := errors.New("stop")
	calls := 0
	err := s.Walk(func(digest.Digest) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Walk with fn failing: err = %v after %d calls, want fn's error after 1", err, calls)
	}
}

func TestWalkFindsSHA512BaseLayers(t *testing.T) {
	s, _ := openStore(t)
	id := digest.SHA512.FromString("base layer with a sha512 diff ID")
	if err := s.Commit(unpack(t, s, file("f", "x")), id); err != nil {
		t.Fatal(err)
	}
	if got := walk(t, s); !slices.Equal(got, []digest.Digest{id}) {
		t.Errorf("Walk = %v, want [%s]", got, id)
	}
}

func TestStoreRejectsMalformedChainIDs(t *testing.T) {
	s, root := openStore(t)
	for _, id := range []digest.Digest{"sha256:../../etc", "sha256:abc", "", "md5:d41d8cd98f00b204e9800998ecf8427e"} {
		p := unpack(t, s, file("f", "x"))
		if err := s.Commit(p, id); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Commit(%q) = %v, want errdefs.ErrInvalidArgument", id, err)
		}
		s.Discard(p)
		if err := s.Remove(id); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Remove(%q) = %v, want errdefs.ErrInvalidArgument", id, err)
		}
		if s.Path(id) != "" || s.Exists(id) {
			t.Errorf("Path(%q) = %q, Exists = %v; want \"\" and false", id, s.Path(id), s.Exists(id))
		}
	}
	if got := listTree(t, root); len(got) != 0 {
		t.Errorf("store holds %q, want nothing", got)
	}
}

func TestChainID(t *testing.T) {
	l0 := digest.FromString("layer 0")
	l1 := digest.FromString("layer 1")
	l2 := digest.FromString("layer 2")
	sha := func(s string) digest.Digest {
		sum := sha256.Sum256([]byte(s))
		return digest.Digest("sha256:" + hex.EncodeToString(sum[:]))
	}
	c1 := sha(l0.String() + " " + l1.String())
	tests := []struct {
		name           string
		parent, diffID digest.Digest
		want           digest.Digest
	}{
		{"base layer is its diff ID", "", l0, l0},
		{"second layer", l0, l1, c1},
		{"third layer builds on the second's chain ID", c1, l2, sha(c1.String() + " " + l2.String())},
	}
	for _, tt := range tests {
		if got := ChainID(tt.parent, tt.diffID); got != tt.want {
			t.Errorf("%s: ChainID = %s, want %s", tt.name, got, tt.want)
		}
	}
}
