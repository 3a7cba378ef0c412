package credstore_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/engine/registry"
	"github.com/skiff-dev/skiff/engine/registry/credstore"
)

func TestStoreKeysByDockersHostNames(t *testing.T) {
	path := filepath.Join(t.TempDir(), credstore.FileName)
	s, err := credstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	hub := registry.Credentials{Username: "alice", Password: "hub-secret"}
	local := registry.Credentials{Username: "bob", Password: "local-secret"}
	if err := s.Set("https://index.docker.io/v1/", hub); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("localhost:5000", local); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		server string
		want   registry.Credentials
		found  bool
	}{
		{"docker.io", hub, true},
		{"", hub, true},
		{"index.docker.io", hub, true},
		{"registry-1.docker.io", hub, true},
		{"https://index.docker.io/v1/", hub, true},
		{"localhost:5000", local, true},
		{"http://localhost:5000/", local, true},
		{"localhost:5001", registry.Credentials{}, false},
		{"127.0.0.1:5000", registry.Credentials{}, false},
	} {
		if got, ok := s.Get(tc.server); ok != tc.found || got != tc.want {
			t.Errorf("Get(%q) = %v, %v; want %v, %v", tc.server, got, ok, tc.want, tc.found)
		}
	}
	if hosts := s.Hosts(); !slices.Equal(hosts, []string{"docker.io", "localhost:5000"}) {
		t.Errorf("Hosts() = %v", hosts)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}

	// Another open (the next daemon start) reads the same accounts.
	again, err := credstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := again.Get("docker.io"); !ok || got != hub {
		t.Errorf("after reopening, docker.io has %v, %v", got, ok)
	}
	if err := again.Delete("index.docker.io"); err != nil {
		t.Fatal(err)
	}
	if err := again.Delete("never.example.com"); err != nil {
		t.Fatalf("deleting an account never stored: %v", err)
	}
	if hosts := again.Hosts(); !slices.Equal(hosts, []string{"localhost:5000"}) {
		t.Errorf("after logout of docker.io, Hosts() = %v", hosts)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "hub-secret") {
		t.Error("the file still holds the removed account")
	}
	// Nothing but the store is left in its directory: no temporary files.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want the store only", len(entries))
	}
}
