package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// count is how many rows table a has, read through the read pool.
func count(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM a`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func insert(t *testing.T, db *DB, id int) {
	t.Helper()
	err := db.Tx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO a(id, v) VALUES (?, ?)`, id, fmt.Sprint("row ", id))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCachedStatementsSeeEveryCommit(t *testing.T) {
	db, err := open(t, filepath.Join(t.TempDir(), "db"), migrations())
	if err != nil {
		t.Fatal(err)
	}
	// The same two statements run again and again: a cached statement
	// left holding a read snapshot would keep returning the first count.
	for i := 1; i <= 5; i++ {
		insert(t, db, i)
		if n := count(t, db); n != i {
			t.Fatalf("after %d inserts, COUNT(*) = %d", i, n)
		}
	}
}

func TestTheSameQueryRunsWhileItsRowsAreOpen(t *testing.T) {
	db, err := open(t, filepath.Join(t.TempDir(), "db"), migrations())
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		insert(t, db, i)
	}
	const query = `SELECT id FROM a WHERE id >= ? ORDER BY id`
	// One transaction, one connection: the inner query is the outer one's
	// statement, whose rows are still being read.
	var pairs []string
	err = db.Tx(context.Background(), func(tx *sql.Tx) error {
		outer, err := tx.Query(query, 1)
		if err != nil {
			return err
		}
		defer outer.Close()
		for outer.Next() {
			var a int
			if err := outer.Scan(&a); err != nil {
				return err
			}
			inner, err := tx.Query(query, a)
			if err != nil {
				return err
			}
			for inner.Next() {
				var b int
				if err := inner.Scan(&b); err != nil {
					inner.Close()
					return err
				}
				pairs = append(pairs, fmt.Sprint(a, b))
			}
			if err := inner.Close(); err != nil {
				return err
			}
		}
		return outer.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "[1 1 1 2 1 3 2 2 2 3 3 3]"
	if got := fmt.Sprint(pairs); got != want {
		t.Fatalf("pairs = %s, want %s", got, want)
	}
}

func TestMoreQueriesThanTheCacheHolds(t *testing.T) {
	db, err := open(t, filepath.Join(t.TempDir(), "db"), migrations())
	if err != nil {
		t.Fatal(err)
	}
	insert(t, db, 1)
	// Each text is a statement of its own; every one must still answer,
	// the first ones again after the cache dropped some.
	for round := range 2 {
		for i := range maxCachedStatements + 10 {
			var v int
			q := fmt.Sprintf(`SELECT id + %d FROM a`, i)
			if err := db.Read().QueryRowContext(context.Background(), q).Scan(&v); err != nil {
				t.Fatalf("round %d, query %d: %v", round, i, err)
			}
			if v != 1+i {
				t.Fatalf("round %d: %s = %d", round, q, v)
			}
		}
	}
}

func TestScriptsRunEveryStatement(t *testing.T) {
	db, err := open(t, filepath.Join(t.TempDir(), "db"), migrations())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second run would be the cached one
		err = db.Tx(context.Background(), func(tx *sql.Tx) error {
			_, err := tx.Exec(`DELETE FROM a; INSERT INTO a(id, v) VALUES (7, 'x'); INSERT INTO a(id, v) VALUES (8, 'y');`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := count(t, db); n != 2 {
			t.Fatalf("COUNT(*) = %d after the script, want 2", n)
		}
	}
}
