package network

import (
	"context"
	"database/sql"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/engine/store"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	_ "modernc.org/sqlite"
)

// newNetns returns a fresh network namespace and a netlink handle bound to
// it. Everything a test creates in it (bridges, veths, addresses, routes)
// goes when the test ends and the namespace with it.
func newNetns(t *testing.T) (netns.NsHandle, *netlink.Handle) {
	t.Helper()
	var ns netns.NsHandle
	err := onLockedThread(func() error {
		var err error
		ns, err = netns.New()
		return err
	})
	if err != nil {
		t.Fatalf("new network namespace: %v", err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		ns.Close()
		t.Fatalf("netlink handle in the new namespace: %v", err)
	}
	t.Cleanup(func() {
		h.Close()
		ns.Close()
	})
	return ns, h
}

// inNetns runs fn on a thread in the namespace ns. Sockets fn opens stay in
// that namespace after it returns.
func inNetns(ns netns.NsHandle, fn func() error) error {
	return onLockedThread(func() error {
		if err := netns.Set(ns); err != nil {
			return err
		}
		return fn()
	})
}

// onLockedThread runs fn on a thread of its own that is never unlocked, so
// that Go ends the thread with the goroutine instead of handing a thread in
// another namespace to other goroutines.
func onLockedThread(fn func() error) error {
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		done <- fn()
	}()
	return <-done
}

func openDB(t *testing.T, file string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "sqlite", file, os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newTestDB(t *testing.T) *store.DB {
	return openDB(t, filepath.Join(t.TempDir(), "skiff.db"))
}

// addContainers inserts container rows, which addresses refer to.
func addContainers(t *testing.T, db *store.DB, ids ...string) {
	t.Helper()
	for _, id := range ids {
		err := exec(db, `INSERT INTO containers(id, name, image_id, created_at) VALUES (?, ?, 'sha256:x', ?)`, id, "c-"+id, time.Now().UnixNano())
		if err != nil {
			t.Fatal(err)
		}
	}
}

// exec runs one statement in a write transaction.
func exec(db *store.DB, query string, args ...any) error {
	return db.Tx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(query, args...)
		return err
	})
}

func links(t *testing.T, h *netlink.Handle) map[string]netlink.Link {
	t.Helper()
	list, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]netlink.Link{}
	for _, l := range list {
		m[l.Attrs().Name] = l
	}
	return m
}

func addrs(t *testing.T, h *netlink.Handle, link netlink.Link) []netip.Prefix {
	t.Helper()
	list, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var out []netip.Prefix
	for _, a := range list {
		p, _ := prefixOf(a.IPNet)
		out = append(out, p)
	}
	return out
}
