// Package store keeps skiff's metadata in SQLite.
//
// The database runs in WAL mode with synchronous=FULL, so a transaction that
// has returned is on disk even if the machine stops a moment later (but for
// RelaxedTx's, which only a killed process cannot lose), and
// foreign keys on, so the schema itself refuses rows that point at nothing.
// Writes go through a single connection (SQLite has one writer anyway; queuing
// in Go is cheaper than SQLITE_BUSY retries) and begin IMMEDIATE; reads use a
// separate pool and never wait for writers.
//
// The schema is a numbered list of SQL files (migrations/NNNN_name.sql) that
// Open applies in order, each in its own transaction together with the row
// that records it. A database that has seen a newer migration than this binary
// knows is refused rather than guessed at.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/containerd/errdefs"
)

// DB is the metadata database: a single-connection writer and a read pool
// over the same file.
type DB struct {
	write *sql.DB
	read  *sql.DB
}

// Pragmas applied to every connection. busy_timeout comes first so that the
// journal_mode change itself waits instead of failing when another process
// holds the file.
var pragmas = []string{
	"busy_timeout(10000)",
	"journal_mode(WAL)",
	"synchronous(FULL)",
	"foreign_keys(ON)",
	"temp_store(MEMORY)",
}

// Open opens (creating if needed) the database at file with the given
// database/sql driver name ("sqlite" for modernc.org/sqlite, registered by the
// caller's blank import) and brings its schema up to date with migrations.
func Open(ctx context.Context, driverName, file string, migrations fs.FS) (*DB, error) {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + file + "?" + q.Encode()

	// sql.Open connects to nothing: it finds the driver registered as
	// driverName, which the pools use through a cachingConnector.
	named, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", file, err)
	}
	connector := cachingConnector{driver: named.Driver(), dsn: dsn}
	named.Close()

	write := sql.OpenDB(connector)
	write.SetMaxOpenConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open database %s: %w", file, err)
	}
	read := sql.OpenDB(connector)
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	db := &DB{write: write, read: read}
	if err := db.migrate(ctx, migrations); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	return errors.Join(db.read.Close(), db.write.Close())
}

// Querier is what both *sql.DB and *sql.Tx offer for queries.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Read returns the read pool, for queries outside a transaction.
func (db *DB) Read() Querier { return db.read }

// Tx runs fn in a write transaction and commits it if fn returns nil.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// RelaxedTx runs fn in a write transaction, as Tx does, whose commit
// does not wait for the disk (synchronous=NORMAL for that commit only),
// which saves an fsync of about 0.6 ms. In WAL mode such a commit survives
// the death of the process, which is all a container's state rows need
// (a crash of the machine ends the containers too); only a power loss or
// a crash of the kernel may roll back commits made since the last
// checkpoint, and the database stays consistent. Everything else, images,
// layers and credentials above all, commits with Tx.
func (db *DB) RelaxedTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=NORMAL"); err != nil {
		return fmt.Errorf("begin relaxed transaction: %w", err)
	}
	defer func() {
		// The one writer connection must not stay relaxed: one that cannot
		// be restored is discarded (a new one gets the DSN's pragmas).
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous=FULL"); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// Pragma returns the value of a pragma as seen by a connection of the read
// pool (or the writer when write is true); tests use it to check settings.
func (db *DB) Pragma(ctx context.Context, name string, write bool) (string, error) {
	pool := db.read
	if write {
		pool = db.write
	}
	var v string
	err := pool.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}

var migrationName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`) })

type migration struct {
	version int
	name    string
}

// migrationsIn lists the numbered migrations of fsys in order and checks
// that the numbers run 1, 2, 3… without gaps or duplicates.
func migrationsIn(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var list []migration
	for _, e := range entries {
		m := migrationName().FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		v, _ := strconv.Atoi(m[1])
		list = append(list, migration{version: v, name: e.Name()})
	}
	slices.SortFunc(list, func(a, b migration) int { return a.version - b.version })
	for i, m := range list {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations: expected number %04d, found %s", i+1, m.name)
		}
	}
	return list, nil
}

// SchemaVersion is the highest migration recorded in the database.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := db.write.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}

func (db *DB) migrate(ctx context.Context, migrations fs.FS) error {
	list, err := migrationsIn(migrations)
	if err != nil {
		return err
	}
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	current, err := db.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > len(list) {
		return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf(
			"database schema version %d is newer than this skiff binary knows (%d): it was written by a newer skiff; run that version or a later one",
			current, len(list)))
	}
	for _, m := range list[current:] {
		body, err := fs.ReadFile(migrations, m.name)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", m.name, err)
		}
		err = db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, path.Base(m.name), time.Now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %s: %w", m.name, err)
		}
	}
	return nil
}
