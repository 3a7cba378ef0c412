package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/containerd/errdefs"
	_ "modernc.org/sqlite"
)

func migrations() fstest.MapFS {
	return fstest.MapFS{
		"0001_first.sql":  {Data: []byte("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);")},
		"0002_second.sql": {Data: []byte("CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES a(id));")},
		"README.md":       {Data: []byte("not a migration")},
	}
}

func open(t *testing.T, file string, m fstest.MapFS) (*DB, error) {
	t.Helper()
	db, err := Open(context.Background(), "sqlite", file, m)
	if err == nil {
		t.Cleanup(func() { db.Close() })
	}
	return db, err
}

func TestFreshInstallAppliesEveryMigration(t *testing.T) {
	db, err := open(t, filepath.Join(t.TempDir(), "db"), migrations())
	if err != nil {
		t.Fatal(err)
	}
	v, err := db.SchemaVersion(context.Background())
	if err != nil || v != 2 {
		t.Fatalf("schema version = %d, %v; want 2", v, err)
	}
}

func TestRerunIsANoOpAndUpgradeKeepsRows(t *testing.T) {
	file := filepath.Join(t.TempDir(), "db")
	first := migrations()
	delete(first, "0002_second.sql")
	db, err := open(t, file, first)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db.Tx(ctx, func(tx *sql.Tx) error { _, err := tx.Exec(`INSERT INTO a(id, v) VALUES (1, 'kept')`); return err })
	db.Close()

	for range 2 { // the upgrade, then a re-run that must change nothing
		db, err = open(t, file, migrations())
		if err != nil {
			t.Fatal(err)
		}
		var v string
		if err := db.Read().QueryRowContext(ctx, `SELECT v FROM a WHERE id = 1`).Scan(&v); err != nil || v != "kept" {
			t.Fatalf("row after upgrade: %q, %v", v, err)
		}
		var n int
		db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
		if n != 2 {
			t.Fatalf("%d migrations recorded, want 2", n)
		}
		db.Close()
	}
}

func TestNewerDatabaseIsRefused(t *testing.T) {
	file := filepath.Join(t.TempDir(), "db")
	if _, err := open(t, file, migrations()); err != nil {
		t.Fatal(err)
	}
	older := migrations()
	delete(older, "0002_second.sql")
	_, err := open(t, file, older)
	if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "database schema version 2 is newer than this skiff binary knows (1)") {
		t.Fatalf("error = %v", err)
	}
}

func TestBrokenMigrationRollsBack(t *testing.T) {
	m := migrations()
	m["0003_broken.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE c (id INTEGER); THIS IS NOT SQL;")}
	file := filepath.Join(t.TempDir(), "db")
	if _, err := open(t, file, m); err == nil || !strings.Contains(err.Error(), "0003_broken.sql") {
		t.Fatalf("error = %v, want one naming the migration", err)
	}
	db, err := open(t, file, migrations())
	if err != nil {
		t.Fatal(err)
	}
	var n int
	db.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM sqlite_master WHERE name = 'c'`).Scan(&n)
	if n != 0 {
		t.Error("half of the broken migration was applied")
	}
}

func TestMigrationNumbersMustRunWithoutGaps(t *testing.T) {
	m := migrations()
	delete(m, "0001_first.sql")
	if _, err := open(t, filepath.Join(t.TempDir(), "db"), m); err == nil || !strings.Contains(err.Error(), "expected number 0001") {
		t.Fatalf("error = %v", err)
	}
}

// Every connection, of the writer and of the read pool, has the settings.
func TestEveryConnectionHasThePragmas(t *testing.T) {
	db, err := open(t, filepath.Join(t.TempDir(), "db"), migrations())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Hold several read connections at once so the pool opens new ones.
	var conns []*sql.Conn
	for range 4 {
		c, err := db.read.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	want := map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000"}
	check := func(name string, q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) {
		for pragma, v := range want {
			var got string
			if err := q.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != v {
				t.Errorf("%s: PRAGMA %s = %q, %v; want %q", name, pragma, got, err, v)
			}
		}
	}
	for i, c := range conns {
		check("read connection "+string(rune('0'+i)), c)
		c.Close()
	}
	check("writer", db.write)
}

func TestForeignKeysAreEnforced(t *testing.T) {
	db, err := open(t, filepath.Join(t.TempDir(), "db"), migrations())
	if err != nil {
		t.Fatal(err)
	}
	err = db.Tx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO b(id, a_id) VALUES (1, 42)`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Fatalf("a row pointing at nothing was accepted: %v", err)
	}
}

func TestTheRealMigrationsApply(t *testing.T) {
	db, err := Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, table := range []string{"images", "tags", "layers", "containers", "builds", "auth_tokens", "settings"} {
		var n int
		db.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n)
		if n != 1 {
			t.Errorf("table %s missing", table)
		}
	}
}

// RelaxedTx commits as Tx does, a failing fn rolls back, and the writer is
// back to synchronous=FULL afterwards.
func TestRelaxedTx(t *testing.T) {
	db, err := open(t, filepath.Join(t.TempDir(), "db"), migrations())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	insert := func(name string) func(tx *sql.Tx) error {
		return func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `CREATE TABLE `+name+` (x INTEGER)`)
			return err
		}
	}
	if err := db.RelaxedTx(ctx, insert("relaxed")); err != nil {
		t.Fatal(err)
	}
	failed := errors.New("fn failed")
	if err := db.RelaxedTx(ctx, func(tx *sql.Tx) error { insert("rolled_back")(tx); return failed }); err != failed {
		t.Fatalf("RelaxedTx: %v, want fn's error", err)
	}
	var tables []string
	rows, err := db.Read().QueryContext(ctx, `SELECT name FROM sqlite_master WHERE name IN ('relaxed', 'rolled_back')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) != 1 || tables[0] != "relaxed" {
		t.Errorf("tables after the two transactions: %v, want [relaxed]", tables)
	}
	if v, err := db.Pragma(ctx, "synchronous", true); err != nil || v != "2" {
		t.Errorf("the writer's synchronous after RelaxedTx: %q, %v; want 2 (FULL)", v, err)
	}
}
