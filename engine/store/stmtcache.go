package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
)

// maxCachedStatements bounds each connection's statement cache. skiff's
// queries are constants of its code, a few dozen of them; queries built
// at run time (an IN list of some length, say) may take the rest, and the
// cache then drops statements to make room.
const maxCachedStatements = 128

// cachingConnector opens connections that keep every statement they
// prepare, by the text of its SQL, and reuse it: database/sql's
// QueryContext and ExecContext otherwise have SQLite parse and plan the
// statement, run it and throw it away, and for skiff's small queries the
// parse and the plan cost about as much as the run (a tenth of the
// daemon's CPU in a `run --rm`).
type cachingConnector struct {
	driver driver.Driver
	dsn    string
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	conn, err := c.driver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn)
}

func (c cachingConnector) Driver() driver.Driver { return c.driver }

// cachingConn is a driver connection with a statement cache. database/sql
// never uses a connection from two goroutines at once, so it needs no lock.
type cachingConn struct {
	conn     driver.Conn
	preparer driver.ConnPrepareContext
	queryer  driver.QueryerContext
	execer   driver.ExecerContext
	stmts    map[string]*cachedStmt
}

// cachedStmt is a prepared statement of the cache. busy is set while the
// rows of a query of it are open: the statement cannot run again until
// they are closed, so a second query of the same SQL meanwhile (within a
// transaction, while iterating the first one's rows) runs uncached.
type cachedStmt struct {
	stmt driver.Stmt
	busy bool
}

// The driver must run statements with a context and contexts on its
// connection (modernc.org/sqlite does).
func newCachingConn(conn driver.Conn) (*cachingConn, error) {
	preparer, ok1 := conn.(driver.ConnPrepareContext)
	queryer, ok2 := conn.(driver.QueryerContext)
	execer, ok3 := conn.(driver.ExecerContext)
	_, ok4 := conn.(driver.ConnBeginTx)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		conn.Close()
		return nil, errors.New("store: the database driver's connections lack the context methods")
	}
	return &cachingConn{conn: conn, preparer: preparer, queryer: queryer, execer: execer,
		stmts: make(map[string]*cachedStmt)}, nil
}

// statement returns the cached statement of query, preparing it on first
// use; nil when query is not to be cached: a script of several statements,
// which SQLite prepares one at a time.
func (c *cachingConn) statement(ctx context.Context, query string) (*cachedStmt, error) {
	if s, ok := c.stmts[query]; ok {
		return s, nil
	}
	if strings.Contains(strings.TrimRight(query, "; \t\n"), ";") {
		return nil, nil
	}
	stmt, err := c.preparer.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if len(c.stmts) >= maxCachedStatements {
		c.evictOne()
	}
	s := &cachedStmt{stmt: stmt}
	c.stmts[query] = s
	return s, nil
}

// evictOne closes and drops a statement that is not running.
func (c *cachingConn) evictOne() {
	for query, s := range c.stmts {
		if !s.busy {
			s.stmt.Close()
			delete(c.stmts, query)
			return
		}
	}
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil || s.busy {
		return c.queryer.QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, stmt: s}, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil || s.busy {
		return c.execer.ExecContext(ctx, query, args)
	}
	return s.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

// PrepareContext serves database/sql's own prepared statements (DB.Prepare),
// which their callers keep and close: those are not cached.
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.preparer.PrepareContext(ctx, query)
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

// Begin is the deprecated form of BeginTx, which database/sql calls instead.
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *cachingConn) Close() error {
	var errs []error
	for _, s := range c.stmts {
		errs = append(errs, s.stmt.Close())
	}
	c.stmts = nil
	return errors.Join(append(errs, c.conn.Close())...)
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// cachedRows are the rows of a cached statement's query: closing them
// frees the statement for its next run.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.stmt.busy = false
	return err
}
