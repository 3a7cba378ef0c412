package content

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
)

func TestIngestCommitsUnderTheDigest(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, n, err := s.Ingest(context.Background(), strings.NewReader("hello"), digest.FromString("hello"))
	if err != nil || n != 5 || d != digest.FromString("hello") {
		t.Fatalf("Ingest = %s, %d, %v", d, n, err)
	}
	got, err := s.ReadAll(d)
	if err != nil || string(got) != "hello" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	fi, _ := os.Stat(s.Path(d))
	if fi.Mode().Perm() != 0o400 {
		t.Errorf("blob mode %v, want read-only", fi.Mode().Perm())
	}
	// The same content again keeps one file.
	if _, _, err := s.Ingest(context.Background(), strings.NewReader("hello"), ""); err != nil {
		t.Fatal(err)
	}
	if n := countBlobs(t, s); n != 1 {
		t.Errorf("%d blobs, want 1", n)
	}
}

func TestWrongDigestLeavesNoBlob(t *testing.T) {
	root := t.TempDir()
	s, _ := Open(root)
	want := digest.FromString("something else")
	_, _, err := s.Ingest(context.Background(), strings.NewReader("hello"), want)
	if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), want.String()) || !strings.Contains(err.Error(), digest.FromString("hello").String()) {
		t.Fatalf("error = %v, want a mismatch naming both digests", err)
	}
	if n := countBlobs(t, s); n != 0 {
		t.Errorf("%d blobs after a mismatch", n)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "ingest")); len(entries) != 0 {
		t.Errorf("ingest dir holds %d files", len(entries))
	}
}

func TestOpenRemovesHalfWrittenBlobs(t *testing.T) {
	root := t.TempDir()
	s, _ := Open(root)
	w, err := s.NewWriter()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("half"))
	// The process dies here: no Commit, no Close.
	if _, err := Open(root); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "ingest")); len(entries) != 0 {
		t.Errorf("ingest dir holds %d files after reopening", len(entries))
	}
}

func TestMissingAndInvalidDigests(t *testing.T) {
	s, _ := Open(t.TempDir())
	if _, err := s.Open(digest.FromString("absent")); !errdefs.IsNotFound(err) {
		t.Errorf("Open of an absent blob: %v", err)
	}
	if _, err := s.Info("sha256:../../etc/passwd"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("Info of a malformed digest: %v", err)
	}
	if err := s.Delete(digest.FromString("absent")); err != nil {
		t.Errorf("Delete of an absent blob: %v", err)
	}
}

func TestCancelledIngestLeavesNothing(t *testing.T) {
	root := t.TempDir()
	s, _ := Open(root)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Ingest(ctx, strings.NewReader("data"), ""); err == nil {
		t.Fatal("a cancelled ingest succeeded")
	}
	if n := countBlobs(t, s); n != 0 {
		t.Errorf("%d blobs", n)
	}
}

func countBlobs(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	if err := s.Walk(func(digest.Digest) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}
