package dns

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// Names is what a Server answers from: the addresses a name has on its
// network, none when it is not a container's.
type Names interface {
	Lookup(name string) []netip.Addr
}

// Registry is the names of the containers on one network, kept as they
// join and leave. It is safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	byID   map[string]registered
	byName map[string]map[string]netip.Addr // name → container ID → address
}

type registered struct {
	addr  netip.Addr
	names []string
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byID: map[string]registered{}, byName: map[string]map[string]netip.Addr{}}
}

// Set gives the container id the address addr under names (its name, its
// short ID, its aliases), replacing what it had. Two containers may share
// a name (an alias); the name then has both addresses.
func (r *Registry) Set(id string, addr netip.Addr, names ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.remove(id)
	var keys []string
	for _, n := range names {
		if k := canonical(n); k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	r.byID[id] = registered{addr: addr, names: keys}
	for _, k := range keys {
		if r.byName[k] == nil {
			r.byName[k] = map[string]netip.Addr{}
		}
		r.byName[k][id] = addr
	}
}

// Remove forgets the container id's names.
func (r *Registry) Remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.remove(id)
}

func (r *Registry) remove(id string) {
	for _, k := range r.byID[id].names {
		delete(r.byName[k], id)
		if len(r.byName[k]) == 0 {
			delete(r.byName, k)
		}
	}
	delete(r.byID, id)
}

// Lookup returns the addresses of name, in order. Names match without
// regard to case or a trailing dot, as DNS names do.
func (r *Registry) Lookup(name string) []netip.Addr {
	r.mu.RLock()
	defer r.mu.RUnlock()
	held := r.byName[canonical(name)]
	addrs := make([]netip.Addr, 0, len(held))
	for _, a := range held {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	return addrs
}

// canonical is the form names are kept and looked up in: lower case, no
// trailing dot. DNS is case-insensitive for ASCII only, hence no Unicode
// folding.
func canonical(name string) string {
	name = strings.TrimSuffix(name, ".")
	b := []byte(name)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
