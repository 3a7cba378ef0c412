package copier

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestChecksum(t *testing.T) {
	base := map[string]string{"app/main.go": "package main", "app/lib/util.go": "package lib", "app/link": "-> lib/util.go", "README": "hi"}
	sum := func(t *testing.T, change func(dir string), paths ...string) string {
		t.Helper()
		r, dir := contextRoot(t, base)
		if change != nil {
			change(dir)
		}
		d, err := r.Checksum(context.Background(), paths)
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := sum(t, nil, "app", "README")
	tests := []struct {
		name    string
		change  func(dir string)
		paths   []string
		changed bool
	}{
		{name: "same tree", changed: false},
		{name: "other mtime and owner", change: func(dir string) {
			p := filepath.Join(dir, "app/main.go")
			must(os.Chtimes(p, time.Now(), time.Now()))
			must(os.Lchown(p, 1000, 1000))
		}, changed: false},
		{name: "content", change: func(dir string) { must(os.WriteFile(filepath.Join(dir, "app/main.go"), []byte("package mian"), 0o644)) }, changed: true},
		{name: "mode", change: func(dir string) { must(os.Chmod(filepath.Join(dir, "app/main.go"), 0o755)) }, changed: true},
		{name: "name", change: func(dir string) {
			must(os.Rename(filepath.Join(dir, "app/main.go"), filepath.Join(dir, "app/main2.go")))
		}, changed: true},
		{name: "symlink target", change: func(dir string) {
			must(os.Remove(filepath.Join(dir, "app/link")))
			must(os.Symlink("main.go", filepath.Join(dir, "app/link")))
		}, changed: true},
		{name: "new empty file", change: func(dir string) { must(os.WriteFile(filepath.Join(dir, "app/empty"), nil, 0o644)) }, changed: true},
		{name: "content moved between files", change: func(dir string) {
			must(os.WriteFile(filepath.Join(dir, "app/main.go"), []byte("package mainpackage lib"), 0o644))
			must(os.WriteFile(filepath.Join(dir, "app/lib/util.go"), nil, 0o644))
		}, changed: true},
		{name: "sources in another order", paths: []string{"README", "app"}, changed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paths := tt.paths
			if paths == nil {
				paths = []string{"app", "README"}
			}
			if got := sum(t, tt.change, paths...); (got != want) != tt.changed {
				t.Errorf("checksum %s, before %s; want changed = %v", got, want, tt.changed)
			}
		})
	}
}

func TestChecksumFollowsASourceSymlink(t *testing.T) {
	r, dir := contextRoot(t, map[string]string{"real": "v1", "link": "-> real"})
	before, err := r.Checksum(context.Background(), []string{"link"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "real"), []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := r.Checksum(context.Background(), []string{"link"})
	if err != nil {
		t.Fatal(err)
	}
	if before == after {
		t.Error("checksum of a symlink source did not change with its target's content")
	}
}
