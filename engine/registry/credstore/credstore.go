// Package credstore keeps the daemon's registry accounts, those skiff
// login (or POST /auth) stored: one JSON file, readable by root only,
// keyed by registry host as Docker names it ("docker.io",
// "localhost:5000"). The file is replaced whole, atomically, on every
// change, so a crash leaves the old accounts or the new, never half.
package credstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/skiff-dev/skiff/engine/registry"
)

// FileName is the store's file under the data root.
const FileName = "registry-auth.json"

// Store is the accounts file.
type Store struct {
	path string
	mu   sync.Mutex
	auth map[string]entry
}

// entry is an account as the file holds it.
type entry struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// file is the JSON document: {"auths": {"host": {...}}}.
type file struct {
	Auths map[string]entry `json:"auths"`
}

// Open reads the store at path; a missing file is an empty store.
func Open(path string) (*Store, error) {
	s := &Store{path: path, auth: map[string]entry{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read registry credentials: %w", err)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read registry credentials %s: %w", path, err)
	}
	for host, e := range f.Auths {
		s.auth[registry.NormalizeHost(host)] = e
	}
	return s, nil
}

// Get returns the account stored for a registry (any spelling of it).
func (s *Store) Get(server string) (registry.Credentials, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.auth[registry.NormalizeHost(server)]
	return registry.Credentials(e), ok
}

// Set stores the account for a registry, replacing any.
func (s *Store) Set(server string, c registry.Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := clone(s.auth)
	next[registry.NormalizeHost(server)] = entry(c)
	return s.save(next)
}

// Delete removes a registry's account; removing none is no error.
func (s *Store) Delete(server string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	host := registry.NormalizeHost(server)
	if _, ok := s.auth[host]; !ok {
		return nil
	}
	next := clone(s.auth)
	delete(next, host)
	return s.save(next)
}

// Hosts returns the registries with an account, sorted.
func (s *Store) Hosts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	hosts := make([]string, 0, len(s.auth))
	for h := range s.auth {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	return hosts
}

func clone(m map[string]entry) map[string]entry {
	out := make(map[string]entry, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// save writes auth to a temporary file of mode 0600 beside the store,
// syncs it and renames it over the store, then adopts it.
func (s *Store) save(auth map[string]entry) error {
	b, err := json.MarshalIndent(file{Auths: auth}, "", "\t")
	if err != nil {
		return fmt.Errorf("save registry credentials: %w", err)
	}
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, ".registry-auth-*")
	if err != nil {
		return fmt.Errorf("save registry credentials: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save registry credentials: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save registry credentials: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save registry credentials: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save registry credentials: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("save registry credentials: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename itself survives a crash
		d.Close()
	}
	s.auth = auth
	return nil
}
